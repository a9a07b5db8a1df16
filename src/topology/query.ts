/** Small read-only helpers over a resolved topology. */
import { formatDpid } from './derive.js';
import type { ResolvedNode, ResolvedTopology } from './types.js';

/** The node whose bridge has this datapath id (as reported in FEATURES_REPLY), if any. */
export function nodeByDpid(topology: ResolvedTopology, dpid: bigint | string): ResolvedNode | undefined {
  const key = typeof dpid === 'bigint' ? formatDpid(dpid) : dpid.toLowerCase().padStart(16, '0');
  const name = topology.dpids[key];
  return name === undefined ? undefined : topology.nodes[name];
}

/** One-line description: `4 nodes (2 switches, 2 hosts), 3 links (1 switch-switch, 2 switch-host), 0 containers`. */
export function summarize(topology: ResolvedTopology): string {
  const nodes = Object.values(topology.nodes);
  const switches = nodes.filter((n) => n.kind === 'switch').length;
  const ss = topology.links.filter((l) => l.kind === 'switch-switch').length;
  const containers = Object.keys(topology.containers).length;
  const plural = (n: number, word: string, many = word + 's') => `${n} ${n === 1 ? word : many}`;
  return (
    `${plural(nodes.length, 'node')} (${plural(switches, 'switch', 'switches')}, ${plural(nodes.length - switches, 'host')}), ` +
    `${plural(topology.links.length, 'link')} (${ss} switch-switch, ${topology.links.length - ss} switch-host), ` +
    `${plural(containers, 'container')}`
  );
}
