import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
 * A file or folder under test/fixtures (in the source tree: fixtures are data, tsc does not copy
 * them to dist/). Throws naming the path when it is missing, so a test never passes by
 * silently reading nothing.
 */
export function fixturePath(...parts: string[]): string {
  const path = join(repoRoot(), 'test', 'fixtures', ...parts);
  if (!existsSync(path)) throw new Error(`test fixture missing: ${path} (it is part of the repository: restore it with git)`);
  return path;
}

/** The Ryu OpenFlow 1.3 vectors kept in test/fixtures/ryu-of13 (see its README.md). */
export function ryuVectorsDir(): string {
  return fixturePath('ryu-of13');
}

/** The compiled file of a module under dist/ (e.g. `src/openflow/cli.js`). */
export function distFile(rel: string): string {
  return join(repoRoot(), 'dist', rel);
}
