/**
 * Provisions every node of a topology in parallel. Nodes are independent: one that fails
 * (unreachable, refused host key, conflicting rows) is reported and leaves the others
 * provisioned; the run as a whole fails when any node did.
 */
import type { ResolvedTopology } from '../../src/topology/types.js';
import { formatChange } from './diff.js';
import { runNode, type NodeReport, type NodeRunOptions } from './node.js';
import type { NodeProvider, ProvisionAccess } from './node-access.js';
import { ownerOf, planNode, type DesiredNode, type PlanOptions } from './plan.js';

export type RunMode = 'provision' | 'deprovision';

export interface RunOptions extends NodeRunOptions {
  mode: RunMode;
  /** Only these nodes (default: every node of the topology). */
  nodes?: readonly string[];
  /** Nodes worked on at the same time (default: all of them). */
  concurrency?: number;
  /**
   * Plan options. Unless given here, the underlay addresses, default datapath type and
   * whether to set options:local_ip come from the provider.
   */
  plan?: PlanOptions;
}

export interface RunReport {
  mode: RunMode;
  topology: string;
  owner: string;
  provider: string;
  dryRun: boolean;
  nodes: NodeReport[];
  /** True when no node failed. */
  ok: boolean;
  ms: number;
}

export function selectNodes(topology: ResolvedTopology, nodes?: readonly string[]): string[] {
  if (!nodes || nodes.length === 0) return Object.keys(topology.nodes);
  const unknown = nodes.filter((n) => !topology.nodes[n]);
  if (unknown.length > 0) {
    throw new Error(`no node ${unknown.map((n) => `"${n}"`).join(', ')} in topology "${topology.name}" (nodes: ${Object.keys(topology.nodes).join(', ')})`);
  }
  return [...new Set(nodes)];
}

function failed(node: string, ovsdb: string, error: string, started: number): NodeReport {
  return {
    node,
    status: 'failed',
    ovsdb,
    changes: [],
    counts: { created: 0, updated: 0, removed: 0 },
    operations: 0,
    warnings: [],
    error,
    ms: Date.now() - started,
    phases: {},
  };
}

export async function runProvisioning(topology: ResolvedTopology, provider: NodeProvider, options: RunOptions): Promise<RunReport> {
  const started = Date.now();
  const names = selectNodes(topology, options.nodes);
  const owner = ownerOf(topology, options.plan);
  const planOptions: PlanOptions = {
    underlayIp: (n) => provider.underlayIp(n),
    defaultDatapathType: provider.defaultDatapathType,
    setLocalIp: provider.underlayIsLocal,
    ...(provider.controllerTarget ? { controllerTarget: (c, n) => provider.controllerTarget!(c, n) } : {}),
    ...options.plan,
  };

  const one = async (node: string): Promise<NodeReport> => {
    const t0 = Date.now();
    let desired: DesiredNode | null = null;
    if (options.mode === 'provision') {
      try {
        desired = planNode(topology, node, planOptions);
      } catch (e) {
        return failed(node, '-', `planning: ${(e as Error).message}`, t0);
      }
    }
    let access: ProvisionAccess;
    try {
      access = await provider.open(node);
    } catch (e) {
      return failed(node, '-', `reaching the node: ${(e as Error).message}`, t0);
    }
    try {
      const r = await runNode(access, desired, { owner, node }, options);
      r.ms = Date.now() - t0;
      return r;
    } finally {
      await access.close?.().catch(() => undefined);
    }
  };

  const nodes = await mapConcurrent(names, options.concurrency ?? names.length, one);
  return {
    mode: options.mode,
    topology: topology.name,
    owner,
    provider: provider.name,
    dryRun: !!options.dryRun,
    nodes,
    ok: nodes.every((n) => n.status !== 'failed'),
    ms: Date.now() - started,
  };
}

async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The human-readable report: one block per node, then a summary line. */
export function formatRunReport(r: RunReport, options: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  const verb = r.mode === 'provision' ? 'provision' : 'deprovision';
  lines.push(`${verb}${r.dryRun ? ' (dry run)' : ''} of topology "${r.topology}" (external_ids:vino-owner=${r.owner}) with the ${r.provider} provider: ${plural(r.nodes.length, 'node')}`);
  const width = r.nodes.reduce((w, n) => Math.max(w, n.node.length), 4);
  for (const n of r.nodes) {
    const head = `  ${n.node.padEnd(width)}  `;
    const c = n.counts;
    const counts = `${c.created} created, ${c.updated} updated, ${c.removed} removed`;
    switch (n.status) {
      case 'failed':
        lines.push(`${head}FAILED: ${n.error}`);
        break;
      case 'up-to-date':
        lines.push(`${head}up to date (0 operations, ${n.ms} ms)`);
        break;
      case 'changed':
        lines.push(`${head}${counts} (${plural(n.operations, 'operation')} in one transaction, ${n.ms} ms)`);
        break;
      case 'would-change':
        lines.push(`${head}would change: ${counts} (${plural(n.operations, 'operation')}, nothing sent)`);
        break;
    }
    // Changes are listed in dry runs (that is what one asks for) and on request.
    if (options.verbose || r.dryRun || n.status === 'failed') for (const ch of n.changes) lines.push(`${' '.repeat(width + 4)}${formatChange(ch)}`);
    for (const w of n.warnings) lines.push(`${' '.repeat(width + 4)}warning: ${w}`);
  }
  const count = (s: NodeReport['status']) => r.nodes.filter((n) => n.status === s).length;
  const parts = [
    count('changed') ? `${count('changed')} changed` : '',
    count('would-change') ? `${count('would-change')} would change` : '',
    count('up-to-date') ? `${count('up-to-date')} up to date` : '',
    count('failed') ? `${count('failed')} FAILED` : '',
  ].filter(Boolean);
  lines.push(`${plural(r.nodes.length, 'node')}: ${parts.join(', ') || 'nothing to do'} (${r.ms} ms)`);
  return lines.join('\n') + '\n';
}
