/**
 * Runs dependency-cruiser's Node API with the rules of .dependency-cruiser.cjs and returns the
 * imports that break them. Used by test/architecture/deps.test.ts and by `npm run check:deps` (check-deps.ts).
 * The Node API rather than the `depcruise` command: a function call whose result the test can
 * assert on, with no output format to parse. dependency-cruiser 16 is the line that supports Node 20.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cruise, type ICruiseOptions, type IConfiguration } from 'dependency-cruiser';
import { repoRoot } from './paths.js';

/** The top-level folders that hold TypeScript; those present under the base folder are cruised. */
export const CRUISED_FOLDERS = ['src', 'controller', 'testbed', 'bench', 'test'] as const;

export interface ImportViolation {
  rule: string;
  from: string;
  to: string;
  /** For no-circular: the modules of the cycle, starting after `from`. */
  cycle?: string[];
}

export interface ImportCheck {
  violations: ImportViolation[];
  /** How many modules were read (guards against a check that silently reads nothing). */
  modulesCruised: number;
  /** Rule names of the configuration, in order. */
  rules: string[];
}

/** The configuration at the repository root (.dependency-cruiser.cjs). */
export function loadRules(): IConfiguration {
  const file = join(repoRoot(), '.dependency-cruiser.cjs');
  if (!existsSync(file)) throw new Error(`dependency-cruiser configuration missing: ${file}`);
  return createRequire(import.meta.url)(file) as IConfiguration;
}

/**
 * Cruises the project folders under `baseDir` (the repository by default) with the repository's
 * rules. Throws if no folder is there or nothing was read.
 */
export async function checkImports(baseDir: string = repoRoot()): Promise<ImportCheck> {
  const config = loadRules();
  const roots = CRUISED_FOLDERS.filter((f) => existsSync(join(baseDir, f)));
  if (roots.length === 0) throw new Error(`none of ${CRUISED_FOLDERS.join(', ')} under ${baseDir}`);
  const options: ICruiseOptions = {
    ...(config.options as ICruiseOptions | undefined),
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden ?? [] },
  };
  const { output } = await cruise(roots, options);
  if (typeof output === 'string') throw new Error('dependency-cruiser returned text, expected its JSON result');
  const { summary } = output;
  if (summary.totalCruised === 0) throw new Error(`dependency-cruiser read no module under ${baseDir}`);
  return {
    modulesCruised: summary.totalCruised,
    rules: (config.forbidden ?? []).map((r) => r.name ?? '(unnamed)'),
    violations: summary.violations.map((v) => ({
      rule: v.rule.name,
      from: v.from,
      to: v.to,
      ...(v.cycle ? { cycle: v.cycle.map((c) => c.name) } : {}),
    })),
  };
}

/** One line per violation: `rule: from → to` (and the cycle's way back for no-circular). */
export function formatViolation(v: ImportViolation): string {
  const cycle = v.cycle && v.cycle.length > 1 ? ` (cycle: ${v.from} → ${v.cycle.join(' → ')})` : '';
  return `${v.rule}: ${v.from} → ${v.to}${cycle}`;
}
