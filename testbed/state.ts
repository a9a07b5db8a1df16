/**
 * The state file of `vino-controller testbed up`: what `down` and `status`, run later by another
 * process, need to find the run. One file per topology name in the state folder.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedTopology } from '../src/topology/types.js';
import { defaultBaseDir } from './names.js';
import type { RunRecord } from './types.js';

export interface TestbedStateFile {
  version: 1;
  /** Topology file given to `up`, as given. */
  topologyFile: string;
  runId: string;
  runDir: string;
  createdAt: string;
  namespaces: string[];
  pids: number[];
  underlay: RunRecord['underlay'];
  underlayIps: Record<string, string>;
  /** Everything the run made (a snapshot; `<runDir>/run.json` is kept current). */
  record: RunRecord;
  /** The topology with underlay addresses filled in: what provisioning consumes. */
  topology: ResolvedTopology;
}

export const defaultStateDir = () => path.join(defaultBaseDir(), 'state');

export function stateFilePath(stateDir: string, topologyName: string): string {
  return path.join(stateDir, `${topologyName}.json`);
}

export function makeState(topologyFile: string, record: RunRecord, topology: ResolvedTopology): TestbedStateFile {
  const nodes = Object.values(record.nodes);
  return {
    version: 1,
    topologyFile,
    runId: record.runId,
    runDir: record.runDir,
    createdAt: record.createdAt,
    namespaces: [...record.namespaces],
    pids: nodes.flatMap((n) => [n.ovsdbServerPid, n.vswitchdPid]).filter((p): p is number => p !== null),
    underlay: { ...record.underlay },
    underlayIps: Object.fromEntries(nodes.map((n) => [n.name, n.underlayIp])),
    record,
    topology,
  };
}

export function writeState(file: string, state: TestbedStateFile): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, file);
}

/** The state file, or null when there is none; throws when it exists but is not one of ours. */
export function readState(file: string): TestbedStateFile | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read testbed state ${file}: ${(e as Error).message}`);
  }
  let state: TestbedStateFile;
  try {
    state = JSON.parse(text) as TestbedStateFile;
  } catch (e) {
    throw new Error(`testbed state ${file} is not JSON: ${(e as Error).message}`);
  }
  if (state.version !== 1 || !state.record || !state.topology) throw new Error(`${file} is not a testbed state file`);
  return state;
}

export function removeState(file: string): void {
  rmSync(file, { force: true });
}
