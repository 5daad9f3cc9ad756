// Builds the map page into dist/: app.js (esbuild bundle of src/app.js with maplibre-gl),
// app.css (src/app.css with maplibre-gl.css inlined), index.html, and MapLibre's worker
// (maplibre-gl-worker.mjs, loaded by app.js from the same folder). No network at build or run time.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const require = createRequire(import.meta.url);
const maplibreDist = dirname(require.resolve('maplibre-gl/package.json')) + '/dist';

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

await build({
  entryPoints: { app: join(here, 'src/app.js') },
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome100', 'safari15.4', 'firefox100'],
  minify: true,
  legalComments: 'linked',
  outdir: dist,
  logLevel: 'warning',
});
await build({
  entryPoints: { app: join(here, 'src/app.css') },
  bundle: true,
  minify: true,
  outdir: dist,
  logLevel: 'warning',
});
copyFileSync(join(here, 'src/index.html'), join(dist, 'index.html'));
// app.js resolves the worker as new URL('./maplibre-gl-worker.mjs', import.meta.url).
copyFileSync(join(maplibreDist, 'maplibre-gl-worker.mjs'), join(dist, 'maplibre-gl-worker.mjs'));

for (const f of ['index.html', 'app.js', 'app.css', 'maplibre-gl-worker.mjs']) {
  console.log(`dist/${f.padEnd(24)} ${(statSync(join(dist, f)).size / 1024).toFixed(1)} KiB`);
}
