/**
 * Flow installation into a real Open vSwitch (`npm run bench:flowinstall [-- OPTIONS]`): flows
 * per second until the switch confirms them with a barrier reply, through
 *  (a) vino's path: a SwitchSession (controller/shell/session.ts) on the bridge's controller
 *      connection, flow_mods built by flowAdds (controller/core/diff.ts) and sent with
 *      applyBatch: batches of B flows one after the other (each waits for its barrier), the same
 *      batches all in flight at once, and one batch of all N;
 *  (b) `ovs-ofctl -O OpenFlow13 add-flows BRIDGE FILE` with the same flows, one process — the
 *      reference. Note that ovs-ofctl sends each flow_mod followed by its own barrier and waits
 *      for the reply before the next (lib/vconn.c vconn_transact_multiple_noreply: "sent one by
 *      one"), so this is one round trip per flow inside one process;
 *  (b') `ovs-ofctl -O OpenFlow13 --bundle add-flows BRIDGE FILE`: all flow_mods in one atomic
 *      bundle (ONF extension for 1.3), committed at once — ovs-ofctl's truly batched mode;
 *  (c) `ovs-ofctl -O OpenFlow13 add-flow BRIDGE FLOW`, one process per flow (a barrier each), for
 *      a smaller number of flows.
 * Each run starts from an empty bridge, is verified with `ovs-ofctl dump-aggregate` (all N
 * installed), then the flows are deleted. Figures are medians over rounds.
 *
 * ovsdb-server and ovs-vswitchd (userspace datapath) run as children in a temp folder and are
 * stopped at the end, also on failure or Ctrl-C.
 */
import { createServer, type Server } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SwitchSession } from '../controller/shell/session.js';
import { flowAdds } from '../controller/core/diff.js';
import type { FlowSpec } from '../controller/core/flows.js';
import type { Message } from '../src/openflow/types/index.js';
import { OvsSandbox } from './lib/ovs-sandbox.js';
import { median } from './lib/children.js';
import { describeMachine } from './lib/timing.js';

const HELP = `Usage: npm run bench:flowinstall [-- OPTIONS]

  --flows N      flows per run (default 10000; try 100000)
  --batch N      flows per barrier in vino's batched runs (default 1000)
  --single N     flows for the one-process-per-flow ovs-ofctl run (default 500; 0 skips it)
  --rounds N     rounds; figures are medians (default 3)
`;

/** Marks the benchmark's flows (and nothing else on the bridge). */
const COOKIE = 0xbe_4c_0000_0000_0001n;
const OUT_PORT = 1;
const PRIORITY = 100;

function opts() {
  const { values } = parseArgs({
    options: {
      flows: { type: 'string', default: '10000' },
      batch: { type: 'string', default: '1000' },
      single: { type: 'string', default: '500' },
      rounds: { type: 'string', default: '3' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const int = (name: 'flows' | 'batch' | 'single' | 'rounds', min: number, max: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: expected an integer in ${min}..${max}, got "${values[name]}"`);
    return n;
  };
  const o = { flows: int('flows', 1, 2_000_000), batch: int('batch', 1, 1_000_000), single: int('single', 0, 100_000), rounds: int('rounds', 1, 100) };
  if (o.single > o.flows) throw new Error('--single cannot exceed --flows');
  return o;
}

/** 02:00:xx:xx:xx:xx, unique per flow. */
function mac(i: number): string {
  const b = [0x02, 0x00, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function flowSpecs(n: number): FlowSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    tableId: 0, priority: PRIORITY, cookie: COOKIE,
    match: { fields: [{ field: 'eth_dst', value: mac(i) }] },
    instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: OUT_PORT, maxLen: 0 }] }],
  }) as FlowSpec);
}

/** The same flows in ovs-ofctl's syntax. */
function flowText(i: number): string {
  return `table=0,priority=${PRIORITY},cookie=0x${COOKIE.toString(16)},dl_dst=${mac(i)},actions=output:${OUT_PORT}`;
}

function acceptSwitch(server: Server, timeoutMs: number): Promise<SwitchSession> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ovs-vswitchd did not connect to the controller port and complete the handshake within ${timeoutMs / 1000} s`)), timeoutMs);
    server.once('connection', (socket) => {
      // Big batches: the barrier after 100k flow_mods may take a while on a busy machine.
      const session = new SwitchSession(socket, { requestTimeoutMs: 600_000, maxQueuedBytes: 512 * 1024 * 1024, idleTimeoutMs: 600_000 });
      session.once('ready', () => {
        clearTimeout(timer);
        resolve(session);
      });
      session.once('close', (reason: string) => {
        clearTimeout(timer);
        reject(new Error(`controller connection from ovs-vswitchd closed: ${reason}`));
      });
    });
  });
}

interface Method {
  name: string;
  flows: number;
  /** Runs the installation; resolves with the elapsed ms (until the last barrier / process exit). */
  run: () => Promise<number>;
}

function ratioText(r: number): string {
  return r >= 0.1 ? r.toFixed(2) : r.toPrecision(2);
}

async function main(): Promise<void> {
  const o = opts();
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const sb = await OvsSandbox.start();
  const server = createServer({ noDelay: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as { port: number }).port;
    const bridge = `vfi${(process.pid % 36 ** 4).toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`.slice(0, 15);
    const accepted = acceptSwitch(server, 30_000);
    await sb.addBridge(bridge, `tcp:127.0.0.1:${port}`);
    const session = await accepted;
    const version = (await sb.run('ovs-vswitchd', ['--version'])).stdout.split('\n')[0];

    const specs = flowSpecs(o.flows);
    const file = join(sb.dir, 'flows.txt');
    writeFileSync(file, `${specs.map((_, i) => flowText(i)).join('\n')}\n`);
    const singles = Array.from({ length: o.single }, (_, i) => flowText(i));
    const batches = (): Message[][] => {
      const msgs = flowAdds(specs);
      const list: Message[][] = [];
      for (let i = 0; i < msgs.length; i += o.batch) list.push(msgs.slice(i, i + o.batch));
      return list;
    };
    const nBatches = Math.ceil(o.flows / o.batch);
    const methods: Method[] = [
      {
        name: `vino applyBatch, ${nBatches} × ${Math.min(o.batch, o.flows)} in sequence (barrier each)`, flows: o.flows,
        run: async () => {
          const list = batches();
          const t0 = performance.now();
          for (const b of list) await session.applyBatch(b);
          return performance.now() - t0;
        },
      },
      {
        name: `vino applyBatch, ${nBatches} × ${Math.min(o.batch, o.flows)} all in flight`, flows: o.flows,
        run: async () => {
          const list = batches();
          const t0 = performance.now();
          await Promise.all(list.map((b) => session.applyBatch(b)));
          return performance.now() - t0;
        },
      },
      {
        name: `vino applyBatch, 1 × ${o.flows}`, flows: o.flows,
        run: async () => {
          const msgs = flowAdds(specs);
          const t0 = performance.now();
          await session.applyBatch(msgs);
          return performance.now() - t0;
        },
      },
      {
        name: 'ovs-ofctl add-flows FILE (barrier per flow)', flows: o.flows,
        run: async () => (await sb.ofctl('add-flows', bridge, file)).ms,
      },
      {
        name: 'ovs-ofctl --bundle add-flows FILE (one bundle)', flows: o.flows,
        run: async () => (await sb.run('ovs-ofctl', ['-O', 'OpenFlow13', '--bundle', 'add-flows', sb.mgmt(bridge), file])).ms,
      },
    ];
    if (o.single > 0) {
      methods.push({
        name: 'ovs-ofctl add-flow, one process per flow', flows: o.single,
        run: async () => {
          let ms = 0;
          for (const f of singles) ms += (await sb.ofctl('add-flow', bridge, f)).ms;
          return ms;
        },
      });
    }

    out('flowinstall: flows/s into a real ovs-vswitchd, confirmed by a barrier reply');
    out(`machine: ${describeMachine()}`);
    out(`switch: ${version}, userspace bridge ${bridge} (datapath_type=netdev, OpenFlow13, fail_mode=secure), controller tcp:127.0.0.1:${port}`);
    out(`flows: table 0, priority ${PRIORITY}, eth_dst=<unique MAC> → output:${OUT_PORT}; ${o.flows} per run (${o.single} for one-process-per-flow); ${o.rounds} round(s), medians`);
    out('timing: vino from the first flow_mod encoded to the last barrier reply (message objects built beforehand);');
    out('        ovs-ofctl from process start to exit (includes parsing the flow text and connecting);');
    out('        ovs-ofctl add-flows waits for a barrier after every flow_mod; --bundle commits them all at once');
    out('');

    const times = new Map<string, number[]>();
    for (let r = 1; r <= o.rounds; r++) {
      for (const m of methods) {
        await sb.ofctl('del-flows', bridge);
        const before = await sb.flowCount(bridge);
        if (before !== 0) throw new Error(`bridge ${bridge} still holds ${before} flows after del-flows`);
        const ms = await m.run();
        const after = await sb.flowCount(bridge);
        if (after !== m.flows) throw new Error(`${m.name}: ${after} flows installed, expected ${m.flows}`);
        (times.get(m.name) ?? times.set(m.name, []).get(m.name)!).push(ms);
        out(`round ${r}: ${m.name.padEnd(60)} ${(m.flows / (ms / 1000)).toFixed(0).padStart(9)} flows/s  (${ms.toFixed(1)} ms, ${after} flows verified)`);
      }
    }
    await sb.ofctl('del-flows', bridge);

    const ref = methods.find((m) => m.name.startsWith('ovs-ofctl add-flows'))!;
    const bundle = methods.find((m) => m.name.startsWith('ovs-ofctl --bundle'))!;
    const rate = (m: Method) => m.flows / (median(times.get(m.name)!) / 1000);
    const refRate = rate(ref);
    const w = Math.max(...methods.map((m) => m.name.length));
    out('');
    out(`medians of ${o.rounds} round(s); ratio = flows/s / flows/s of ovs-ofctl add-flows`);
    out(`${'method'.padEnd(w)} | ${'flows'.padStart(7)} | ${'ms'.padStart(9)} | ${'flows/s'.padStart(9)} | ${'ratio'.padStart(7)}`);
    out(`${'-'.repeat(w)}-|-${'-'.repeat(7)}-|-${'-'.repeat(9)}-|-${'-'.repeat(9)}-|-${'-'.repeat(7)}`);
    for (const m of methods) {
      out(`${m.name.padEnd(w)} | ${String(m.flows).padStart(7)} | ${median(times.get(m.name)!).toFixed(1).padStart(9)} | ${rate(m).toFixed(0).padStart(9)} | ${`${ratioText(rate(m) / refRate)}×`.padStart(7)}`);
    }
    const vinoBest = Math.max(...methods.filter((m) => m.name.startsWith('vino')).map(rate));
    const vinoSeq = rate(methods[0]!);
    out('');
    out(`target: vino at least as fast as ovs-ofctl add-flows: ${vinoSeq >= refRate ? 'MET' : 'NOT MET'} with ${o.batch}-flow batches in sequence (${(vinoSeq / refRate).toFixed(2)}×), best vino mode ${(vinoBest / refRate).toFixed(2)}×`);
    out(`        against ovs-ofctl --bundle add-flows: ${vinoSeq >= rate(bundle) ? 'as fast or faster' : 'slower'} (${(vinoSeq / rate(bundle)).toFixed(2)}×), best vino mode ${(vinoBest / rate(bundle)).toFixed(2)}×`);
    session.close('benchmark done');
  } finally {
    server.close();
    sb.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`flowinstall: ${err.message}\n`);
    process.exit(1);
  },
);
