// Bundles the dashboard (controller/dashboard, browser TypeScript) into dist/dashboard with
// esbuild: cytoscape included, so the page fetches nothing but its own three files. Type
// checking is tsc's job (controller/dashboard/tsconfig.json, run by `npm run build`).
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'controller', 'dashboard');
const out = join(root, 'dist', 'dashboard');

await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(src, 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
for (const file of ['index.html', 'app.css']) await copyFile(join(src, file), join(out, file));
