/**
 * The topology model: file format (schema), validation, resolution and the paper's DSL.
 * Knows nothing of OpenFlow; see README.md.
 */
export * from './types.js';
export { analyzeTopology, type Analysis } from './analyze.js';
export { analyzeTopologyFile, analyzeTopologyText, loadTopology, resolveTopology } from './load.js';
export { importDsl, parseDsl, DslSyntaxError, type DslImportOptions, type DslImportResult } from './dsl.js';
export { formatProblem, formatPath, TopologyError, type Problem, type PathSegment, type SourcePosition } from './problems.js';
export {
  TopologyFileSchema,
  topologyJsonSchema,
  type TopologyFile,
  type TopologyFileInput,
  type NodeSpec,
  type LinkSpec,
  type ContainerSpec,
} from './schema.js';
export {
  formatDpid,
  parseDpid,
  OFPORT_INTERNAL,
  OFPORT_TUNNEL_MIN,
  OFPORT_TUNNEL_MAX,
  OFPORT_CONTAINER_MIN,
  OFPORT_CONTAINER_MAX,
} from './derive.js';
export { summarize, nodeByDpid } from './query.js';
export { formatTopologyJson } from './format.js';
