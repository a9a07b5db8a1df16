/**
 * Provisioning time on the emulated testbed (`npm run bench:provision`, root): for the 3-, 12-
 * and 24-node topologies, the time from "every node runs OVS" to "every bridge, tunnel,
 * controller and overlay address is in place" (provision returned with every node done). The
 * testbed start is not timed.
 *
 * Each topology gets its own testbed; one untimed warm-up round (provision + deprovision), then
 * ROUNDS timed provisionings of the empty nodes (deprovisioned, untimed, in between) whose
 * median is reported, plus the median of a re-run on the provisioned nodes (nothing to do).
 *
 * The paper's figures (ViNO: ~30 s for 3 to 12 nodes, ~50 s for 24) are printed beside ours for
 * orientation only: they include booting the VMs, which the testbed does not do.
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Testbed } from './testbed/index.js';
import { loadTopology } from '../src/topology/load.js';
import { NetnsProvider } from '../controller/provision/netns.js';
import { formatRunReport, runProvisioning, type RunReport } from '../controller/provision/run.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CASES = [
  { file: 'line-3.json', paper: '~30 s' },
  { file: 'grid-12.json', paper: '~30 s' },
  { file: 'paper-24.json', paper: '~50 s' },
];
const TARGET_24_S = 2;
const TARGET_RATIO = 2;

/** The folder holding topologies/ (this file runs from dist/bench/). */
function repoRootFromHere(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'topologies', 'line-3.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the topologies/ folder above this file');
    dir = up;
  }
  return dir;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function check(r: RunReport, what: string, expect: 'changed' | 'up-to-date'): void {
  const bad = r.nodes.filter((n) => n.status !== expect);
  if (bad.length > 0) throw new Error(`${what}: ${bad.length} node(s) not ${expect}:\n${formatRunReport(r, { verbose: true })}`);
}

interface Result {
  file: string;
  nodes: number;
  provisionS: number;
  rerunS: number;
  paper: string;
}

async function benchOne(file: string, paper: string): Promise<Result> {
  const topology = await loadTopology(path.join(repoRootFromHere(), 'topologies', file));
  const n = Object.keys(topology.nodes).length;
  process.stderr.write(`${file}: starting a ${n}-node testbed (not timed)...\n`);
  const bed = await Testbed.up(topology, { concurrency: 4 });
  try {
    const provider = new NetnsProvider(bed);
    const go = (mode: 'provision' | 'deprovision') => runProvisioning(topology, provider, { mode });
    check(await go('provision'), `${file} warm-up provision`, 'changed');
    check(await go('deprovision'), `${file} warm-up deprovision`, 'changed');
    const times: number[] = [];
    const reruns: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      const r = await go('provision');
      times.push((performance.now() - t0) / 1000);
      check(r, `${file} provision ${i + 1}`, 'changed');
      const t1 = performance.now();
      const again = await go('provision');
      reruns.push((performance.now() - t1) / 1000);
      check(again, `${file} re-run ${i + 1}`, 'up-to-date');
      check(await go('deprovision'), `${file} deprovision ${i + 1}`, 'changed');
    }
    process.stderr.write(`${file}: provision ${times.map((x) => x.toFixed(2)).join(' ')} s; re-run ${reruns.map((x) => x.toFixed(2)).join(' ')} s\n`);
    return { file, nodes: n, provisionS: median(times), rerunS: median(reruns), paper };
  } finally {
    await bed.down();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:provision needs root (the testbed makes network namespaces)');
  const results: Result[] = [];
  for (const c of CASES) results.push(await benchOne(c.file, c.paper));

  const cpu = cpus();
  console.log(`provisioning on the netns testbed: ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`median of ${ROUNDS} rounds; OVS already running on every node (testbed start not timed)\n`);
  console.log(`${'topology'.padEnd(16)}${'nodes'.padStart(6)}${'provision'.padStart(12)}${'re-run (no-op)'.padStart(17)}   paper's figure (VM boot included)`);
  for (const r of results) {
    console.log(`${r.file.replace(/\.json$/, '').padEnd(16)}${String(r.nodes).padStart(6)}${`${r.provisionS.toFixed(2)} s`.padStart(12)}${`${r.rerunS.toFixed(2)} s`.padStart(17)}   ${r.paper}`);
  }
  const t3 = results.find((r) => r.nodes === 3)!.provisionS;
  const t24 = results.find((r) => r.nodes === 24)!.provisionS;
  const ratio = t24 / t3;
  console.log('');
  console.log(`24 nodes: ${t24.toFixed(2)} s (target < ${TARGET_24_S} s: ${t24 < TARGET_24_S ? 'met' : 'MISSED'})`);
  console.log(`t24/t3 = ${ratio.toFixed(2)} (target < ${TARGET_RATIO}: ${ratio < TARGET_RATIO ? 'met' : 'MISSED'}; paper ≈ 50/30 = 1.67, VM boot included)`);
  if (t24 >= TARGET_24_S || ratio >= TARGET_RATIO) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(`bench:provision: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
