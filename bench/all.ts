/**
 * Every benchmark in one invocation (`npm run bench`), each with settings short enough that the
 * whole run stays under 15 minutes on 2 cores, each printing its own table with its peers side
 * by side. Each benchmark runs as a child process with a time limit; one that fails or runs out
 * of time is reported and the others still run. Progress lines of the children go to stderr.
 *
 * The testbed benchmarks (migration, provision) need root; without it they are reported as
 * skipped. `--only a,b` runs a subset; `--list` prints the commands.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';

const DIST = fileURLToPath(new URL('.', import.meta.url));

interface Bench {
  name: string;
  script: string;
  args: string[];
  env?: Record<string, string>;
  /** Time limit, s: the sum stays under 15 minutes. */
  limitS: number;
  root?: boolean;
  what: string;
}

const BENCHES: Bench[] = [
  { name: 'openflow', script: 'openflow-codec.js', args: ['--quick'], limitS: 45, what: 'OpenFlow codec vs Buffer copy / JSON' },
  { name: 'json', script: 'json.js', args: ['--quick'], limitS: 45, what: 'JSON paths vs JSON.parse / JSON.stringify' },
  // vino at window 1000 answers its first burst seconds late (one sync for thousands of MACs): a 3 s window shows nothing.
  { name: 'ofload', script: 'ofload.js', args: ['--seconds', '8', '--warmup', '3', '--rounds', '1'], limitS: 230, what: 'packet-ins: vino vs ovs-testcontroller vs os-ken, and the load generator\'s ceiling, window 1000 and 1' },
  { name: 'flip', script: 'flip-controller.js', args: ['--runs', '30', '--warmup', '5'], limitS: 120, what: 'flip, controller\'s own cost: prepared vs on-commit vs first-frame' },
  { name: 'flowinstall', script: 'flowinstall.js', args: ['--flows', '5000', '--single', '200', '--rounds', '1'], limitS: 90, what: 'flow installation into OVS: vino vs ovs-ofctl' },
  {
    name: 'migration', script: 'migration.js', root: true, limitS: 300,
    args: ['--runs', '3', '--window', '8', '--pre-ms', '1000', '--hold-ms', '500', '--flip-runs', '3'],
    what: 'refractory time per scheme and real-OVS flip latency (testbed)',
  },
  { name: 'provision', script: 'provision.js', args: [], root: true, env: { ROUNDS: '1' }, limitS: 60, what: 'provisioning time (testbed)' },
];

const { values } = parseArgs({ options: { only: { type: 'string' }, list: { type: 'boolean', default: false } }, strict: true });
const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
for (const o of only ?? []) if (!BENCHES.some((b) => b.name === o)) throw new Error(`--only: unknown benchmark "${o}" (${BENCHES.map((b) => b.name).join(', ')})`);
const chosen = BENCHES.filter((b) => !only || only.includes(b.name));
const commandOf = (b: Bench) => `${b.env ? `${Object.entries(b.env).map(([k, v]) => `${k}=${v} `).join('')}` : ''}node dist/bench/${b.script} ${b.args.join(' ')}`.trim();

if (values.list) {
  for (const b of chosen) process.stdout.write(`${b.name.padEnd(12)} ${commandOf(b)}   (limit ${b.limitS} s)\n`);
  process.exit(0);
}

function run(b: Bench): Promise<{ status: string; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(DIST, b.script), ...b.args], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...b.env } });
    let timedOut = false;
    // SIGTERM lets the benchmark tear its testbed and controllers down.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
    }, b.limitS * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      resolve({ status: timedOut ? `stopped at its ${b.limitS} s limit` : code === 0 ? 'ok' : code === 1 ? 'ran; a target not met or an error (exit 1)' : `failed (${code ?? signal})`, seconds });
    });
  });
}

async function main(): Promise<void> {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const total = chosen.reduce((n, b) => n + b.limitS, 0);
  out(`npm run bench: ${chosen.length} benchmarks, at most ${(total / 60).toFixed(1)} min; load average at start ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const summary: string[][] = [];
  const isRoot = process.getuid?.() === 0;
  for (const b of chosen) {
    out(`\n${'='.repeat(100)}\n${b.name}: ${b.what}\n$ ${commandOf(b)}\n${'='.repeat(100)}`);
    if (b.root && !isRoot) {
      out('skipped: needs root (the testbed makes network namespaces)');
      summary.push([b.name, 'skipped (needs root)', '-']);
      continue;
    }
    const r = await run(b);
    summary.push([b.name, r.status, r.seconds.toFixed(0)]);
  }
  out(`\n${'='.repeat(100)}\nsummary (load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
  const head = ['benchmark', 'status', 'wall s'];
  const w = head.map((h, i) => Math.max(h.length, ...summary.map((r) => r[i]!.length)));
  out(head.map((h, i) => h.padEnd(w[i]!)).join(' | '));
  out(w.map((x) => '-'.repeat(x)).join('-|-'));
  for (const r of summary) out(r.map((c, i) => c.padEnd(w[i]!)).join(' | '));
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
