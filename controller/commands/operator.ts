/**
 * Operator commands that talk to a running controller's API: status, switches, containers,
 * flows, migrate, commit, abort, events. Human tables by default, `--json` for scripts.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT_OK, UsageError, type Command, type CommandIO } from './command.js';
import { ApiClient, EXIT_FAILED, EXIT_UNAUTHORIZED, EXIT_UNREACHABLE, RequestFailed, Unreachable, type StreamEvent } from './api-client.js';
import { table } from './table.js';
import { stringifyJson, type JsonValue } from '../../src/json/index.js';

const COMMON_OPTIONS = `  --api URL      the controller's API (default: $VINO_API, else http://127.0.0.1:8080)
  --token TOKEN  bearer token (default: $VINO_API_TOKEN)
  --json         machine-readable output (JSON) instead of a table
  -h, --help     show this help`;

const EXIT_TEXT = `Exit status: 0 success, 1 the controller refused the request (or the migration did not
commit), 2 bad command line, 3 cannot reach the controller, 4 missing or wrong token.`;

type Options = NonNullable<ParseArgsConfig['options']>;

interface Context {
  client: ApiClient;
  json: boolean;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  io: CommandIO;
}

function operatorCommand(spec: {
  name: string; summary: string; usage: string; about: string; options?: Options; optionsHelp?: string; positionals: [number, number];
  run(ctx: Context): Promise<number>;
}): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    help: `Usage: vino-controller ${spec.name} ${spec.usage}\n\n${spec.about}\n\nOptions:\n${spec.optionsHelp ? `${spec.optionsHelp}\n` : ''}${COMMON_OPTIONS}\n\n${EXIT_TEXT}\n`,
    async run(args, io) {
      const { values, positionals } = parseArgs({
        args, allowPositionals: true, strict: true,
        options: { api: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean', default: false }, ...spec.options },
      });
      const [min, max] = spec.positionals;
      if (positionals.length < min) throw new UsageError(`missing ${spec.usage.split(' ').filter((w) => /^[A-Z]/.test(w)).slice(positionals.length, min).join(' ')}`);
      if (positionals.length > max) throw new UsageError(`unexpected argument "${positionals[max]}"`);
      let client: ApiClient;
      try {
        client = new ApiClient({ api: values.api as string | undefined, token: values.token as string | undefined });
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      try {
        return await spec.run({ client, json: values.json === true, values: values as Context['values'], positionals, io });
      } catch (err) {
        if (err instanceof Unreachable) {
          io.err(`vino-controller ${spec.name}: ${err.message}\n`);
          return EXIT_UNREACHABLE;
        }
        if (err instanceof RequestFailed) {
          io.err(`vino-controller ${spec.name}: ${err.status === 401 ? `the controller at ${client.display} refused the token (${err.message}); give it with --token or $VINO_API_TOKEN` : `${err.message} (HTTP ${err.status})`}\n`);
          return err.status === 401 ? EXIT_UNAUTHORIZED : EXIT_FAILED;
        }
        throw err;
      }
    },
  };
}

const printJson = (io: CommandIO, value: unknown) => io.out(`${stringifyJson(value as JsonValue, 2, { undefinedMembers: 'omit' })}\n`);
const clock = (iso: string | null | undefined) => (iso ? new Date(iso).toISOString().slice(11, 23) : null);

// ------------------------------------------------------------------------------ views

interface Health { status: 'ok' | 'degraded'; version: string; uptimeSeconds: number; switches: { expected: number; connected: number; unknown: number }; containers: number }
interface TopologyNode { name: string; kind: string; region: string; dpid: string; connected: boolean; remote: string | null; role: string | null; flowCount: number; lastSync: string | null; lastStage: string | null; errors: number; lastError: string | null }
interface Topology { name: string; nodes: TopologyNode[]; links: { state: string }[] }
interface SwitchInfo { name: string | null; dpid: string; connected: boolean; remote: string | null; flowCount: number; fallback: boolean }
interface Container { name: string; mac: string; ip: string | null; node: string; ofport: number; port: string | null; source: string; since: string }
interface TimelineEntry { event: string; at: string; t: number; detail?: string }
interface Migration {
  id: string; container: string; state: string; flipLatencyMs: number | null; committedBy: string | null; error: string | null;
  from: { node: string; ofport: number | null; port: string | null }; to: { node: string; ofport: number | null; port: string | null }; timeline: TimelineEntry[];
}

export const statusCommand = operatorCommand({
  name: 'status', summary: 'health of a running controller: switches connected, containers, migrations', usage: '[OPTIONS]', positionals: [0, 0],
  about: 'Asks a running controller how it is. Exit status 1 when it is degraded (a topology switch is not connected).',
  async run({ client, json, io }) {
    const [health, topology, migrations] = await Promise.all([client.get<Health>('/api/v1/health'), client.get<Topology>('/api/v1/topology'), client.get<Migration[]>('/api/v1/migrations')]);
    const active = migrations.filter((m) => m.state === 'prepared' || m.state === 'committing');
    const down = topology.nodes.filter((n) => !n.connected).map((n) => n.name);
    const linksDown = topology.links.filter((l) => l.state === 'down').length;
    if (json) {
      printJson(io, { ...health, api: client.display, topology: topology.name, disconnected: down, linksDown, migrationsInProgress: active.map((m) => m.id) });
    } else {
      io.out(table(['', ''], [
        ['controller', `${client.display} (version ${health.version}, up ${health.uptimeSeconds} s)`],
        ['topology', topology.name],
        ['status', health.status],
        ['switches', `${health.switches.connected}/${health.switches.expected} connected${down.length ? ` (not: ${down.join(', ')})` : ''}${health.switches.unknown ? `, ${health.switches.unknown} unknown` : ''}`],
        ['links', `${topology.links.length - linksDown}/${topology.links.length} up`],
        ['containers', health.containers],
        ['migrations', active.length ? `${active.length} in progress: ${active.map((m) => `${m.container} (${m.id}, ${m.state})`).join(', ')}` : 'none in progress'],
      ]).split('\n').slice(1).join('\n'));
    }
    return health.status === 'ok' ? EXIT_OK : EXIT_FAILED;
  },
});

export const switchesCommand = operatorCommand({
  name: 'switches', summary: 'the switches of a running controller: connection, role, flows, last sync, errors', usage: '[OPTIONS]', positionals: [0, 0],
  about: 'Lists every topology switch (and any unknown one connected) with its datapath id, connection, OpenFlow role, flows installed, last confirmed change and refused changes.',
  async run({ client, json, io }) {
    const [topology, switches] = await Promise.all([client.get<Topology>('/api/v1/topology'), client.get<SwitchInfo[]>('/api/v1/switches')]);
    const unknown = switches.filter((s) => s.fallback).map((s) => ({ name: null, kind: 'unknown', region: null, dpid: s.dpid, connected: s.connected, remote: s.remote, role: null, flowCount: s.flowCount, lastSync: null, lastStage: null, errors: 0, lastError: null }));
    const all = [...topology.nodes, ...unknown];
    if (json) printJson(io, all);
    else io.out(table(['NAME', 'KIND', 'REGION', 'DPID', 'STATE', 'ROLE', 'FLOWS', 'LAST-SYNC', 'ERRORS'], all.map((n) => [
      n.name ?? '(unknown)', n.kind, n.region, n.dpid, n.connected ? 'connected' : 'DISCONNECTED', n.role, n.flowCount,
      n.lastSync ? `${clock(n.lastSync)} ${n.lastStage}` : null, n.errors ? `${n.errors}: ${n.lastError}` : 0,
    ])));
    return EXIT_OK;
  },
});

export const containersCommand = operatorCommand({
  name: 'containers', summary: 'the location table of a running controller', usage: '[OPTIONS]', positionals: [0, 0],
  about: 'Lists every container the controller knows: MAC, IP, where it is (node, port) and where that came from (topology, api, learned, migration).',
  async run({ client, json, io }) {
    const containers = await client.get<Container[]>('/api/v1/containers');
    if (json) printJson(io, containers);
    else io.out(table(['NAME', 'MAC', 'IP', 'NODE', 'PORT', 'OFPORT', 'SOURCE', 'SINCE'], containers.map((c) => [c.name, c.mac, c.ip, c.node, c.port, c.ofport, c.source, c.since])));
    return EXIT_OK;
  },
});

interface FlowJson { tableId: number; priority: number; cookie: bigint | number; packetCount: string | number; byteCount: string | number; match: { fields: { field: string; value: unknown; mask?: unknown }[] }; instructions: { type: string; actions?: Record<string, unknown>[]; tableId?: number; meterId?: number }[] }

/** A flow's match and instructions in ovs-ofctl's spirit: `eth_dst=…,in_port=2` and `meter:1,output:3,goto_table:1`. */
export function flowText(f: FlowJson): { match: string; actions: string } {
  const match = f.match.fields.map((m) => `${m.field}=${String(m.value)}${m.mask !== undefined ? `/${String(m.mask)}` : ''}`).join(',') || '*';
  const action = (a: Record<string, unknown>): string => {
    const type = String(a.type).toLowerCase();
    if (a.type === 'OUTPUT') return `output:${portName(Number(a.port))}`;
    if (a.type === 'GROUP') return `group:${String(a.groupId)}`;
    if (a.type === 'SET_FIELD') {
      const field = a.field as { field: string; value: unknown };
      return `set_field:${String(field.value)}->${field.field}`;
    }
    if (a.type === 'PUSH_VLAN') return `push_vlan:0x${Number(a.ethertype).toString(16)}`;
    return type;
  };
  const actions = f.instructions.map((i) => {
    if (i.type === 'GOTO_TABLE') return `goto_table:${i.tableId}`;
    if (i.type === 'METER') return `meter:${i.meterId}`;
    if (i.type === 'APPLY_ACTIONS' || i.type === 'WRITE_ACTIONS') return (i.actions ?? []).map(action).join(',') || 'drop';
    return i.type.toLowerCase();
  }).join(',') || 'drop';
  return { match, actions };
}

function portName(port: number): string {
  const reserved: Record<number, string> = { 0xfffffff8: 'IN_PORT', 0xfffffff9: 'TABLE', 0xfffffffa: 'NORMAL', 0xfffffffb: 'FLOOD', 0xfffffffc: 'ALL', 0xfffffffd: 'CONTROLLER', 0xfffffffe: 'LOCAL' };
  return reserved[port] ?? String(port);
}

export const flowsCommand = operatorCommand({
  name: 'flows', summary: 'the flows a switch holds now (read from the switch)', usage: 'SWITCH [OPTIONS]', positionals: [1, 1],
  about: 'Reads the flow table of SWITCH (a topology node) through the controller: every flow with its counters, by table and priority.',
  async run({ client, json, io, positionals }) {
    const flows = await client.get<FlowJson[]>(`/api/v1/switches/${encodeURIComponent(positionals[0]!)}/flows`);
    if (json) {
      printJson(io, flows);
      return EXIT_OK;
    }
    flows.sort((a, b) => a.tableId - b.tableId || b.priority - a.priority);
    io.out(table(['TABLE', 'PRIO', 'COOKIE', 'PACKETS', 'BYTES', 'MATCH', 'ACTIONS'], flows.map((f) => {
      const { match, actions } = flowText(f);
      return [f.tableId, f.priority, `0x${BigInt(f.cookie).toString(16)}`, BigInt(f.packetCount).toString(), BigInt(f.byteCount).toString(), match, actions];
    })));
    return EXIT_OK;
  },
});

// ------------------------------------------------------------------------------ migrations

/** Prints timeline steps once each, in order (from the POST's answer, then from the stream). */
class StepPrinter {
  private readonly seen = new Set<string>();
  constructor(private readonly out: (text: string) => void) {}
  print(step: TimelineEntry): void {
    const key = `${step.t}|${step.event}|${step.detail ?? ''}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.out(`  +${step.t.toFixed(1).padStart(8)} ms  ${step.event}${step.detail ? `: ${step.detail}` : ''}\n`);
  }
}

function summary(m: Migration): string {
  if (m.state === 'committed') return `migration ${m.id}: ${m.container} committed at ${m.to.node}:${m.to.port ?? m.to.ofport}; flip ${m.flipLatencyMs} ms (by ${m.committedBy})\n`;
  if (m.state === 'prepared') return `migration ${m.id}: ${m.container} prepared (bicast to ${m.from.node} and ${m.to.node}); commit with: vino-controller commit ${m.id}\n`;
  return `migration ${m.id}: ${m.container} ${m.state}${m.error ? `: ${m.error}` : ''}\n`;
}

const FINAL = new Set(['committed', 'aborted', 'failed']);

export const migrateCommand = operatorCommand({
  name: 'migrate', summary: 'live-migrate a container: prepare, then wait for (or make) the commit', usage: 'CONTAINER --to NODE:PORT [--commit | --prepare-only] [OPTIONS]', positionals: [1, 1],
  about: `Prepares the migration of CONTAINER to port PORT (its OVS port name) on NODE's bridge: traffic
is copied to both locations, confirmed by every switch. Then, by default, waits until the
container's first frame at the new port commits it (or the controller aborts it), printing each
step as it happens. --commit commits as soon as the port exists; --prepare-only returns at once
with the migration id (commit or abort it later). With --json the steps go to stderr and the
migration's final state to stdout.`,
  options: { to: { type: 'string' }, commit: { type: 'boolean', default: false }, 'prepare-only': { type: 'boolean', default: false }, timeout: { type: 'string' } },
  optionsHelp: `  --to NODE:PORT  where the container goes (required)
  --commit        commit as soon as the new port exists, without waiting for traffic
  --prepare-only  prepare and return the migration id
  --timeout SEC   give up waiting after SEC seconds (exit 1; the migration stays prepared)`,
  async run({ client, json, io, values, positionals }) {
    const to = typeof values.to === 'string' ? /^([A-Za-z0-9_.-]+):(.+)$/.exec(values.to) : null;
    if (!values.to) throw new UsageError('missing --to NODE:PORT');
    if (!to) throw new UsageError(`--to: expected NODE:PORT, got "${String(values.to)}"`);
    if (values.commit && values['prepare-only']) throw new UsageError('--commit and --prepare-only exclude each other');
    const timeoutSec = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeoutSec !== undefined && !(Number.isFinite(timeoutSec) && timeoutSec > 0)) throw new UsageError('--timeout: expected a positive number of seconds');
    const progress = (text: string) => (json ? io.err(text) : io.out(text));
    const steps = new StepPrinter(progress);
    const body = { container: positionals[0]!, to: { switch: to[1]!, port: to[2]! } };

    if (values['prepare-only']) {
      const m = await client.post<Migration>('/api/v1/migrations', body);
      if (json) printJson(io, m);
      else {
        for (const s of m.timeline) steps.print(s);
        io.out(summary(m));
      }
      return EXIT_OK;
    }

    // The stream first, so that no step between the prepare and our listening is missed.
    let id: string | undefined;
    const early: StreamEvent[] = [];
    let wake: () => void = () => {};
    let lost: string | undefined;
    let commitRefused: string | undefined;
    let state = 'prepared';
    let portKnown = false;
    const onEvent = (e: StreamEvent) => {
      if (e.type !== 'migration-step' && !String(e.type).startsWith('migration-')) return;
      if (id === undefined) early.push(e);
      else handle(e);
    };
    const handle = (e: StreamEvent) => {
      if (e.id !== id) return;
      if (e.type === 'migration-step') {
        steps.print({ event: String(e.event), at: String(e.at), t: Number(e.t), ...(typeof e.detail === 'string' ? { detail: e.detail } : {}) });
        if (e.event === 'port seen') portKnown = true;
        if (e.event === 'port gone') portKnown = false;
      }
      if (typeof e.state === 'string') state = e.state;
      wake();
    };
    const stream = await client.events(onEvent, (why) => {
      lost = why;
      wake();
    });
    try {
      const m = await client.post<Migration>('/api/v1/migrations', body);
      id = m.id;
      progress(`migration ${m.id}: ${m.container} ${m.from.node}:${m.from.port ?? m.from.ofport} -> ${m.to.node}:${m.to.port}\n`);
      for (const s of m.timeline) steps.print(s);
      portKnown = m.to.ofport !== null;
      for (const e of early.splice(0)) handle(e);
      const deadline = timeoutSec === undefined ? Infinity : Date.now() + timeoutSec * 1000;
      let committing = false;
      for (;;) {
        if (FINAL.has(state)) break;
        if (commitRefused) {
          io.err(`vino-controller migrate: the commit of ${m.id} was refused: ${commitRefused}\n`);
          return EXIT_FAILED;
        }
        if (lost) {
          io.err(`vino-controller migrate: the event stream ended (${lost}); migration ${m.id} was ${state}: check GET /api/v1/migrations/${m.id}\n`);
          return EXIT_UNREACHABLE;
        }
        if (values.commit && portKnown && !committing && state === 'prepared') {
          committing = true;
          // Its answer comes after the flip; the steps keep arriving on the stream meanwhile.
          void client.post<Migration>(`/api/v1/migrations/${m.id}/commit`).then((r) => {
            state = r.state;
            wake();
          }, (err: Error) => {
            if (err instanceof Unreachable) lost = err.message;
            else commitRefused = err.message;
            wake();
          });
        }
        if (Date.now() >= deadline) {
          io.err(`vino-controller migrate: gave up after ${timeoutSec} s; migration ${m.id} is ${state} (commit or abort it: vino-controller commit|abort ${m.id})\n`);
          return EXIT_FAILED;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (deadline !== Infinity) setTimeout(resolve, Math.max(0, deadline - Date.now())).unref();
        });
      }
      const final = await client.get<Migration>(`/api/v1/migrations/${m.id}`);
      for (const s of final.timeline) steps.print(s);
      if (json) printJson(io, final);
      else io.out(summary(final));
      return final.state === 'committed' ? EXIT_OK : EXIT_FAILED;
    } finally {
      stream.close();
    }
  },
});

function migrationAction(action: 'commit' | 'abort'): Command {
  return operatorCommand({
    name: action,
    summary: action === 'commit' ? 'commit a prepared migration: flip every switch, downstream first' : 'abort a prepared migration: traffic back to the old location only',
    usage: 'ID [OPTIONS]', positionals: [1, 1],
    about: action === 'commit'
      ? 'Commits the prepared migration ID (see migrate --prepare-only) and prints its timeline and flip latency. Exit status 1 if it did not commit.'
      : 'Aborts the prepared migration ID and prints its timeline. Exit status 1 if it could not be aborted.',
    async run({ client, json, io, positionals }) {
      const m = await client.post<Migration>(`/api/v1/migrations/${encodeURIComponent(positionals[0]!)}/${action}`);
      if (json) printJson(io, m);
      else {
        const steps = new StepPrinter((t) => io.out(t));
        for (const s of m.timeline) steps.print(s);
        io.out(summary(m));
      }
      return m.state === (action === 'commit' ? 'committed' : 'aborted') ? EXIT_OK : EXIT_FAILED;
    },
  });
}

export const commitCommand = migrationAction('commit');
export const abortCommand = migrationAction('abort');

// ------------------------------------------------------------------------------ events

/** One line per event for people: time, type, and what it is about. */
export function eventLine(e: StreamEvent): string {
  const time = typeof e.time === 'string' ? e.time.slice(11, 23) : '';
  const rest = Object.entries(e).filter(([k]) => k !== 'type' && k !== 'time')
    .map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`).join(' ');
  return `${time}  ${e.type.padEnd(18)} ${rest}\n`;
}

export const eventsCommand = operatorCommand({
  name: 'events', summary: 'follow the event stream of a running controller', usage: '[--count N] [OPTIONS]', positionals: [0, 0],
  about: 'Prints the controller\'s events as they happen (switches, ports, flow changes, container moves, migration steps), one a line; --json prints them as JSON lines. Ends on Ctrl-C (status 0), after --count events (0), or when the controller goes away (3).',
  options: { count: { type: 'string' } },
  optionsHelp: '  --count N      exit after N events (not counting the greeting)',
  async run({ client, json, io, values }) {
    const count = values.count === undefined ? undefined : Number(values.count);
    if (count !== undefined && !(Number.isInteger(count) && count > 0)) throw new UsageError('--count: expected a positive whole number');
    let seen = 0;
    let finish: (status: number) => void = () => {};
    const done = new Promise<number>((resolve) => {
      finish = resolve;
    });
    const stream = await client.events((e) => {
      if (e.type === 'hello') {
        io.err(`following ${client.display} (Ctrl-C to stop)\n`);
        return;
      }
      // Events already on the way when the count is reached are not printed.
      if (count !== undefined && seen >= count) return;
      io.out(json ? `${JSON.stringify(e)}\n` : eventLine(e));
      if (count !== undefined && ++seen >= count) finish(EXIT_OK);
    }, (why) => {
      io.err(`vino-controller events: the stream ended: ${why}\n`);
      finish(EXIT_UNREACHABLE);
    });
    const onSignal = () => finish(EXIT_OK);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      return await done;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      stream.close();
    }
  },
});

export const OPERATOR_COMMANDS: readonly Command[] = [statusCommand, switchesCommand, containersCommand, flowsCommand, migrateCommand, commitCommand, abortCommand, eventsCommand];
