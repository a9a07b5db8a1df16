/**
 * Summary of a V8 .cpuprofile (what `node --cpu-prof` writes): the functions with the most
 * self time and the most total time (self + callees, each sample counted once per function even
 * under recursion). Also runnable: `node dist/bench/lib/cpu-profile.js FILE.cpuprofile [TOP]`.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  fn: string;
  selfMs: number;
  selfPct: number;
  totalMs: number;
  totalPct: number;
}

function label(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  if (!url) return functionName || '(anonymous)';
  let file = url.startsWith('file://') ? url.slice(7) : url;
  file = file.includes('/node_modules/') ? file.slice(file.indexOf('/node_modules/') + 1) : relative(process.cwd(), file);
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

export function summarizeProfile(file: string): { totalMs: number; entries: ProfileEntry[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let totalUs = 0;
  // Depth-first from the root; `open` holds the labels on the current stack so a recursive
  // function's time is added to its total once.
  const root = p.nodes[0]!;
  const open = new Map<string, number>();
  const visit = (n: ProfileNode): number => {
    const name = label(n);
    const s = selfUs.get(n.id) ?? 0;
    totalUs += s;
    self.set(name, (self.get(name) ?? 0) + s);
    open.set(name, (open.get(name) ?? 0) + 1);
    let sum = s;
    for (const c of n.children ?? []) sum += visit(byId.get(c)!);
    const depth = open.get(name)! - 1;
    if (depth === 0) {
      open.delete(name);
      total.set(name, (total.get(name) ?? 0) + sum);
    } else {
      open.set(name, depth);
    }
    return sum;
  };
  visit(root);
  const entries = [...self.keys()].map((fn) => ({
    fn, selfMs: (self.get(fn) ?? 0) / 1000, totalMs: (total.get(fn) ?? 0) / 1000,
    selfPct: (100 * (self.get(fn) ?? 0)) / totalUs, totalPct: (100 * (total.get(fn) ?? 0)) / totalUs,
  }));
  return { totalMs: totalUs / 1000, entries };
}

export function formatProfile(file: string, top = 15): string {
  const { totalMs, entries } = summarizeProfile(file);
  const lines = [`CPU profile ${file}: ${(totalMs / 1000).toFixed(1)} s sampled`];
  const skip = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);
  lines.push(`  top by self time (idle ${(entries.find((e) => e.fn === '(idle)')?.selfPct ?? 0).toFixed(1)}%, GC ${(entries.find((e) => e.fn === '(garbage collector)')?.selfPct ?? 0).toFixed(1)}%):`);
  for (const e of [...entries].filter((e) => !skip.has(e.fn)).sort((a, b) => b.selfMs - a.selfMs).slice(0, top)) {
    lines.push(`    ${e.selfPct.toFixed(1).padStart(5)}%  ${e.fn}`);
  }
  lines.push('  top by total time (self + callees):');
  for (const e of [...entries].filter((e) => !skip.has(e.fn)).sort((a, b) => b.totalMs - a.totalMs).slice(0, top)) {
    lines.push(`    ${e.totalPct.toFixed(1).padStart(5)}%  ${e.fn}`);
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/bench/lib/cpu-profile.js FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(file, Number(process.argv[3] ?? 25))}\n`);
}
