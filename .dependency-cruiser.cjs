/**
 * What may import what (ARCHITECTURE.md, "Import rules"). Checked by
 * test/architecture/deps.test.ts and `npm run check:deps`, which run dependency-cruiser's Node
 * API over src/, controller/, testbed/, bench/ and test/ (the source, so that a violation names
 * the .ts file). Paths are relative to the repository root.
 *
 * The product is src/, controller/ and testbed/; bench/ and test/ may import anything.
 */
/** Node built-ins that do I/O: a pure module imports none of them. */
const IO_BUILTINS = '^(node:)?(fs|fs/promises|net|dgram|dns|http|https|http2|tls|child_process|cluster|worker_threads|readline)$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Protects every module being loadable and testable on its own: in a cycle, ES module load order decides which side sees undefined bindings.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-libraries-independent',
      comment: 'Protects src/ as libraries usable without the controller: src/ never imports controller/, testbed/, bench/ or test/.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(controller|testbed|bench|test)/' },
    },
    {
      name: 'openflow-not-ovsdb',
      comment: 'Protects the two wire libraries from each other: src/openflow knows nothing of OVSDB (shared code goes to src/json).',
      severity: 'error',
      from: { path: '^src/openflow/' },
      to: { path: '^src/ovsdb/' },
    },
    {
      name: 'ovsdb-not-openflow',
      comment: 'Protects the two wire libraries from each other: src/ovsdb knows nothing of OpenFlow (shared code goes to src/json).',
      severity: 'error',
      from: { path: '^src/ovsdb/' },
      to: { path: '^src/openflow/' },
    },
    {
      name: 'json-is-a-leaf',
      comment: 'Protects src/json as the shared bottom layer: it imports no other part of the project, so every library can use it without a cycle.',
      severity: 'error',
      from: { path: '^src/json/' },
      to: { path: '^(src|controller|testbed|bench|test)/', pathNot: '^src/json/' },
    },
    {
      name: 'core-only-core-and-src',
      comment: 'Protects controller/core as pure decisions: it builds on src/ libraries and itself, never on shell/, migration/, provision/, commands/ or the app.',
      severity: 'error',
      from: { path: '^controller/core/' },
      to: { path: '^controller/', pathNot: '^controller/core/' },
    },
    {
      name: 'core-no-io',
      comment: 'Protects controller/core as pure functions of their input: no file system, sockets, processes or threads.',
      severity: 'error',
      from: { path: '^controller/core/' },
      to: { dependencyTypes: ['core'], path: IO_BUILTINS },
    },
    {
      name: 'product-not-bench',
      comment: 'Protects the product (src/, controller/, testbed/) from depending on benchmarks: bench/ can change or go without breaking it.',
      severity: 'error',
      from: { path: '^(src|controller|testbed)/' },
      to: { path: '^bench/' },
    },
    {
      name: 'product-not-test',
      comment: 'Protects the product from depending on test helpers and fixtures.',
      severity: 'error',
      from: { path: '^(src|controller|testbed)/' },
      to: { path: '^test/' },
    },
    {
      name: 'product-not-fake-switches',
      comment: 'Protects the controller and the testbed from running on simulated switches: src/openflow-sim is for tests and benchmarks.',
      severity: 'error',
      from: { path: '^(controller|testbed)/' },
      to: { path: '^src/openflow-sim/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'Protects the check itself: an import that cannot be resolved cannot be judged by the rules above.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/|^test/fixtures/' },
    // Type-only imports count: they tie the modules' designs together as much as value imports.
    tsPreCompilationDeps: true,
    // Packages that publish subpaths through package.json "exports" (hono/http-exception).
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
