/**
 * Writes schema/topology.schema.json from the zod schema (`npm run gen:schema`). A test compares the
 * committed file with `schemaFileText()`, so the two cannot drift apart.
 */
import { realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { topologyJsonSchema } from './schema.js';

/** Exact text of schema/topology.schema.json. */
export function schemaFileText(): string {
  return JSON.stringify(topologyJsonSchema(), null, 2) + '\n';
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  // dist/src/topology/gen-schema.js -> repository root is three levels up.
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const out = join(root, 'schema', 'topology.schema.json');
  writeFileSync(out, schemaFileText());
  console.log(`wrote ${out}`);
}
