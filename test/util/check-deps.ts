/**
 * `npm run check:deps`: the import rules of ARCHITECTURE.md (.dependency-cruiser.cjs) over the
 * source tree. Prints every offending import and exits 1 if there is any.
 */
import { checkImports, formatViolation } from './import-rules.js';

try {
  const { violations, modulesCruised, rules } = await checkImports();
  for (const v of violations) process.stdout.write(`${formatViolation(v)}\n`);
  const verdict = violations.length === 0 ? 'no violations' : `${violations.length} violation${violations.length === 1 ? '' : 's'}`;
  process.stdout.write(`${modulesCruised} modules, ${rules.length} rules: ${verdict}\n`);
  process.exitCode = violations.length === 0 ? 0 : 1;
} catch (err) {
  process.stderr.write(`check:deps: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
