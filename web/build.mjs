// Builds the map page into dist/ (or into $WELFARE_WEB_OUT: the hub's build script builds it into its
// own output folder and embeds it). Every asset has a content-hashed name, so the hub serves it
// `immutable`; index.html names them and is revalidated:
//   app-XXXXXXXX.js   esbuild bundle of src/app.js with maplibre-gl
//   app-XXXXXXXX.css  src/app.css with maplibre-gl.css inlined
//   maplibre-gl-worker-XXXXXXXX.mjs  MapLibre's worker, which app.js starts from the same folder
//   index.html        src/index.html naming the three
// No network at build or run time; no inline script or style (the hub's CSP forbids them).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.env.WELFARE_WEB_OUT || join(here, 'dist');
const require = createRequire(import.meta.url);
const maplibreDist = dirname(require.resolve('maplibre-gl/package.json')) + '/dist';

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const hashOf = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 8).toUpperCase();

const worker = readFileSync(join(maplibreDist, 'maplibre-gl-worker.mjs'));
const workerName = `maplibre-gl-worker-${hashOf(worker)}.mjs`;
writeFileSync(join(dist, workerName), worker);

// The one output file of a build, by its extension.
const outputOf = (result, ext) => {
  const names = Object.keys(result.metafile.outputs).filter((f) => f.endsWith(ext));
  if (names.length !== 1) throw new Error(`expected one ${ext} output, got ${names.join(', ')}`);
  return basename(names[0]);
};

const js = await build({
  entryPoints: { app: join(here, 'src/app.js') },
  entryNames: '[name]-[hash]',
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome100', 'safari15.4', 'firefox100'],
  minify: true,
  legalComments: 'linked',
  define: { __MAPLIBRE_WORKER__: JSON.stringify(`./${workerName}`) },
  outdir: dist,
  metafile: true,
  logLevel: 'warning',
});
const css = await build({
  entryPoints: { app: join(here, 'src/app.css') },
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  outdir: dist,
  metafile: true,
  logLevel: 'warning',
});

// index.html names the hashed files: each plain name must appear exactly once.
let html = readFileSync(join(here, 'src/index.html'), 'utf8');
for (const [plain, hashed] of [['href="app.css"', `href="${outputOf(css, '.css')}"`], ['src="app.js"', `src="${outputOf(js, '.js')}"`]]) {
  const count = html.split(plain).length - 1;
  if (count !== 1) throw new Error(`src/index.html must contain ${plain} exactly once (found ${count})`);
  html = html.replace(plain, hashed);
}
if (/<style|\sstyle=|<script(?![^>]*\ssrc=)/i.test(html)) {
  throw new Error('src/index.html has an inline script or style: the hub\'s Content-Security-Policy refuses them');
}
writeFileSync(join(dist, 'index.html'), html);

for (const f of readdirSync(dist).sort()) {
  console.log(`${f.padEnd(36)} ${(statSync(join(dist, f)).size / 1024).toFixed(1)} KiB`);
}
