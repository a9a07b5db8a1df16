/**
 * The import rules of ARCHITECTURE.md, checked by dependency-cruiser (.dependency-cruiser.cjs):
 * the repository keeps them, and a tree built to break each rule once is caught, rule by rule,
 * naming the offending import.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { checkImports, formatViolation, loadRules, type ImportViolation } from '../util/import-rules.js';

t.test('every rule says what it protects', async (t) => {
  const rules = loadRules().forbidden ?? [];
  t.ok(rules.length >= 10, `${rules.length} rules`);
  for (const r of rules) t.match(r.comment ?? '', /^Protects /, `${r.name}: comment names what it protects`);
  t.ok(rules.some((r) => r.name === 'no-circular' && 'to' in r && (r.to as { circular?: boolean }).circular === true), 'no-circular is among them');
});

t.test('the repository keeps the import rules', async (t) => {
  const { violations, modulesCruised } = await checkImports();
  t.ok(modulesCruised > 150, `${modulesCruised} modules cruised`);
  // One line per offending import, so a failure names each (rule: from → to).
  t.same(violations.map(formatViolation), [], 'no violations');
});

/** A tree with one breach of each rule, next to imports that every rule allows. */
const BREACHES: Record<string, string[]> = {
  'src/openflow/constants.ts': [],
  'src/openflow/codec.ts': [
    "import '../ovsdb/client.js';", // openflow-not-ovsdb
    "import '../json/parse.js';", // allowed: src libraries share src/json
    "import '../../controller/shell/session.js';", // src-libraries-independent
    "import '../../testbed/node.js';", // src-libraries-independent
  ],
  'src/ovsdb/client.ts': ["import '../openflow/constants.js';"], // ovsdb-not-openflow
  'src/json/parse.ts': ["import '../topology/types.js';"], // json-is-a-leaf
  'src/topology/types.ts': [],
  'src/openflow-sim/fake-switch.ts': ["import '../openflow/constants.js';", "import 'node:net';"],
  'controller/shell/session.ts': ["import '../core/flows.js';", "import 'node:net';"], // allowed
  'controller/shell/metrics.ts': [],
  'controller/core/flows.ts': [
    "import '../shell/metrics.js';", // core-only-core-and-src
    "import 'node:fs';", // core-no-io
    "import 'node:crypto';", // allowed: hashing is not I/O
    "import '../../src/openflow/constants.js';", // allowed
  ],
  'controller/provision/netns.ts': [
    "import '../../bench/testbed/index.js';", // product-not-bench
    "import '../../test/util/paths.js';", // product-not-test
    "import '../../src/openflow-sim/fake-switch.js';", // product-not-fake-switches
    "import '../../testbed/node.js';", // allowed
  ],
  'controller/migration/manager.ts': ["import './api.js';"], // no-circular, with api.ts
  'controller/migration/api.ts': ["import './manager.js';"],
  'controller/commands/run.ts': ["import './missing.js';"], // no-unresolvable
  'testbed/node.ts': ["import '../src/topology/types.js';"], // allowed
  'bench/testbed/index.ts': [],
  'bench/demo.ts': [
    // allowed: benchmarks use anything
    "import '../controller/shell/session.js';",
    "import '../src/openflow-sim/fake-switch.js';",
    "import '../test/util/paths.js';",
  ],
  'test/util/paths.ts': [],
};

t.test('the check bites: each rule reports its breach, naming the import', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'vino-deps-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  for (const [file, lines] of Object.entries(BREACHES)) {
    mkdirSync(join(base, dirname(file)), { recursive: true });
    writeFileSync(join(base, file), `${lines.join('\n')}\nexport const here = ${JSON.stringify(file)};\n`);
  }
  const { violations, rules } = await checkImports(base);
  const key = (v: ImportViolation): string => `${v.rule}: ${v.from} → ${v.to}`;
  const acyclic = violations.filter((v) => v.rule !== 'no-circular').map(key).sort();
  t.same(acyclic, [
    'core-no-io: controller/core/flows.ts → fs', // dependency-cruiser names built-ins without node:
    'core-only-core-and-src: controller/core/flows.ts → controller/shell/metrics.ts',
    'json-is-a-leaf: src/json/parse.ts → src/topology/types.ts',
    'no-unresolvable: controller/commands/run.ts → ./missing.js',
    'openflow-not-ovsdb: src/openflow/codec.ts → src/ovsdb/client.ts',
    'ovsdb-not-openflow: src/ovsdb/client.ts → src/openflow/constants.ts',
    'product-not-bench: controller/provision/netns.ts → bench/testbed/index.ts',
    'product-not-fake-switches: controller/provision/netns.ts → src/openflow-sim/fake-switch.ts',
    'product-not-test: controller/provision/netns.ts → test/util/paths.ts',
    'src-libraries-independent: src/openflow/codec.ts → controller/shell/session.ts',
    'src-libraries-independent: src/openflow/codec.ts → testbed/node.ts',
  ], 'exactly the planted breaches, each named by rule, importer and import');

  const cycles = violations.filter((v) => v.rule === 'no-circular');
  t.ok(cycles.length > 0, 'the cycle manager.ts ↔ api.ts is reported');
  const inCycle = new Set(['controller/migration/manager.ts', 'controller/migration/api.ts']);
  for (const c of cycles) {
    t.ok(inCycle.has(c.from) && inCycle.has(c.to), `cycle reported between the planted pair: ${formatViolation(c)}`);
  }
  t.ok(rules.every((r) => violations.some((v) => v.rule === r)), 'every rule of the configuration was breached and reported');
});
