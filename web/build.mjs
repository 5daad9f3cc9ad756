// Builds the pages into dist/ (or into $WELFARE_WEB_OUT: the hub's build script builds them into its
// own output folder and embeds them). Every asset has a content-hashed name, so the hub serves it
// `immutable`; the HTML files name them and are revalidated:
//   app-XXXXXXXX.js   esbuild bundle of src/app.js with maplibre-gl
//   app-XXXXXXXX.css  src/app.css with maplibre-gl.css inlined
//   maplibre-gl-worker-XXXXXXXX.mjs  MapLibre's worker, which app.js starts from the same folder
//   index.html        src/index.html naming the three (the map page, served at /)
//   operator-XXXXXXXX.js, operator-XXXXXXXX.css  the operator's page (no maplibre)
//   operator.html     src/operator.html naming those two (served at /operator)
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

// The one output file of a build made from the entry point `name`, by its extension.
const outputOf = (result, name, ext) => {
  const names = Object.entries(result.metafile.outputs)
    .filter(([f, o]) => f.endsWith(ext) && o.entryPoint && basename(o.entryPoint).startsWith(`${name}.`))
    .map(([f]) => f);
  if (names.length !== 1) throw new Error(`expected one ${ext} output of ${name}, got ${names.join(', ') || 'none'}`);
  return basename(names[0]);
};

// Each entry is bundled on its own (no splitting): operator.js never loads maplibre.
const js = await build({
  entryPoints: { app: join(here, 'src/app.js'), operator: join(here, 'src/operator.js') },
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
  entryPoints: { app: join(here, 'src/app.css'), operator: join(here, 'src/operator.css') },
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  outdir: dist,
  metafile: true,
  logLevel: 'warning',
});

// An HTML page names the hashed files of its entry: each plain name must appear exactly once.
function writePage(source, target, entry) {
  let html = readFileSync(join(here, 'src', source), 'utf8');
  const names = [
    [`href="${entry}.css"`, `href="${outputOf(css, entry, '.css')}"`],
    [`src="${entry}.js"`, `src="${outputOf(js, entry, '.js')}"`],
  ];
  for (const [plain, hashed] of names) {
    const count = html.split(plain).length - 1;
    if (count !== 1) throw new Error(`src/${source} must contain ${plain} exactly once (found ${count})`);
    html = html.replace(plain, hashed);
  }
  if (/<style|\sstyle=|<script(?![^>]*\ssrc=)/i.test(html)) {
    throw new Error(`src/${source} has an inline script or style: the hub's Content-Security-Policy refuses them`);
  }
  writeFileSync(join(dist, target), html);
}
writePage('index.html', 'index.html', 'app');
writePage('operator.html', 'operator.html', 'operator');

for (const f of readdirSync(dist).sort()) {
  console.log(`${f.padEnd(36)} ${(statSync(join(dist, f)).size / 1024).toFixed(1)} KiB`);
}
