import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root: the nearest folder above this file holding vino-controller's
 * package.json. Works from test/util (ts) and from dist/test/util (compiled js).
 */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'vino-controller') return dir;
      } catch {
        // not ours (or unreadable): keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`no vino-controller package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/**
 * The `shared/` folder that sits beside the repository root (/work/shared in the workspace,
 * `<clone>/../shared` in CI). VINO_SHARED_DIR overrides it.
 */
export function sharedDir(): string {
  const dir = process.env['VINO_SHARED_DIR'] ? resolve(process.env['VINO_SHARED_DIR']) : resolve(repoRoot(), '..', 'shared');
  if (!existsSync(dir)) {
    throw new Error(`shared folder not found at ${dir} (set VINO_SHARED_DIR to its location)`);
  }
  return dir;
}

/** The Ryu OpenFlow 1.3 vectors (shared/vectors/ryu-of13). */
export function ryuVectorsDir(): string {
  return join(sharedDir(), 'vectors', 'ryu-of13');
}

/** The compiled file of a module under dist/ (e.g. `src/openflow/cli.js`). */
export function distFile(rel: string): string {
  return join(repoRoot(), 'dist', rel);
}
