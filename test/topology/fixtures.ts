/** Shared inputs for the topology tests. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../util/paths.js';

export const topologiesDir = () => join(repoRoot(), 'topologies');

/** The example topology files (JSON): every .json in topologies/ is one (the schema lives in schema/). */
export function exampleFiles(): string[] {
  return readdirSync(topologiesDir())
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(topologiesDir(), f));
}

/** A small valid topology; tests mutate copies of it. */
export function base(): Record<string, any> {
  return {
    name: 'base',
    nodes: {
      sw1: { kind: 'switch', region: 'CORE', internal_port: { name: 'p1', ip: '192.168.200.1' } },
      sw2: { kind: 'switch', region: 'EDGE' },
      h1: { kind: 'host', region: 'CORE' },
      h2: { kind: 'host', region: 'EDGE' },
    },
    links: [
      { switch: 'sw1', peer: 'sw2' },
      { switch: 'sw1', host: 'h1', overlay_ip: '192.168.200.11' },
      { switch: 'sw2', host: 'h2', overlay_ip: '192.168.200.12' },
    ],
    containers: {
      c1: { mac: '02:00:00:00:00:01', ip: '192.168.200.101', host: 'h1' },
      c2: { mac: '02:00:00:00:00:02', ip: '192.168.200.102', host: 'h2' },
    },
  };
}
