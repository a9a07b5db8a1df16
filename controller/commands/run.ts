/** `vino-controller [--topology FILE] ...`: runs the controller (the default command). */
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { readErrorReason } from '../../src/input/read-file.js';
import { summarize } from '../../src/topology/query.js';
import { packageVersion } from '../../src/package-version.js';
import { isLoopbackHost, parseListen, parseOfListen, startApp } from '../app.js';
import type { SessionOptions } from '../shell/session.js';
import { hostname } from 'node:os';
import { startMember } from '../ha/member.js';
import { EXIT_INVALID, EXIT_OK, UsageError, type Command } from './command.js';
import { defaultLogFormat, makeLogger, parseLogFormat } from './log-format.js';
import { formatProblemList, readTopology, reportInvalidTopology, TOPOLOGY_INPUT_OPTIONS, topologyInputHelp, topologyInputLimits } from './topology-input.js';
import type { HoldLimits } from '../migration/hold.js';
import type { Provisioner } from '../shell/controller.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'run the controller (the default when no command is given)',
  help: `Usage: vino-controller [run] --topology FILE [OPTIONS]

Runs the OpenFlow 1.3 controller for the overlay described by FILE: switches connect to it
(controller target tcp:HOST:6633 or :6653), it installs every flow proactively and keeps them
in step with where containers are. Stopping it (SIGTERM, SIGINT) leaves the flows in place;
a second signal exits at once (status 130), and a stop still waiting after 30 s gives up
(status 1), logging what it waited for.

Options:
  --topology FILE          topology file (JSON, see schema/topology.schema.json); required
  --of-listen [tcp:|ssl:]HOST:PORT
                           where switches connect; repeatable, plain and TLS side by side
                           (default 0.0.0.0:6633 and 0.0.0.0:6653, plain TCP)
  --of-key FILE            for ssl: listeners: our private key (PEM, e.g. ovs-pki's ctl-privkey.pem)
  --of-cert FILE           for ssl: listeners: our certificate (PEM)
  --of-ca FILE             for ssl: listeners: the CA switch certificates must chain to
                           (ovs-pki's switchca/cacert.pem); switches without one are refused
  --api-listen HOST:PORT   HTTP API, event stream and dashboard (/ui/) (default 127.0.0.1:8080; "off" to disable)
  --api-cert FILE          serve the API over HTTPS with this certificate (PEM) ...
  --api-key FILE           ... and this private key; both or neither
  --api-token TOKEN        require "Authorization: Bearer TOKEN" (default: $VINO_API_TOKEN);
                           required when --api-listen is not a loopback address
  --api-max-body SIZE      largest request body, bytes or with KiB/MiB (default 1MiB); larger: 413
  --state FILE             location table and migrations, saved atomically on every change,
                           reloaded at start; a truncated or corrupt FILE stops the start
  --state-reset            if the --state FILE is truncated or corrupt, move it aside as
                           FILE.corrupt-TIME and start from the topology
  --audit-interval SEC     read every switch's flows back and repair differences (flows
                           deleted by hand) every SEC seconds (default 10; 0 = off)
  --max-handshaking N      refuse connections while N switches are in the handshake (default 256)
  --hello-timeout SEC      drop a connection whose HELLO is not whole within SEC (default 5)
  --handshake-timeout SEC  drop a switch not ready (HELLO, features, ports) within SEC (default 10)
  --idle-timeout SEC       drop a switch that sends no whole message for SEC, echoes
                           unanswered (default 15; echoes after a third of it, at most 5)
  --max-bad-messages N     close a switch after N malformed messages (default 100; 0: no limit)
  --packet-in-rate N       PACKET_INs handled per second per switch, more are dropped (default 10000; 0: no limit)
  --echo-rate N            ECHO_REQUESTs answered per second per switch (default 100; 0: no limit)
  --etcd URL[,URL...]      run as one member of a controller cluster whose state and election
                           live in etcd (v3); without it the controller runs alone
  --member NAME            this member's name in the cluster (default: HOSTNAME-PID)
  --advertise-api URL      where other members redirect API writes to (default: http://API-LISTEN)
  --lease-ttl SEC          election lease TTL: how long a dead master keeps the lead (default 1;
                           etcd raises it to its minimum, 2 s with its default timeouts)
  --migration-timeout SEC  abort prepared migrations not committed within SEC seconds (default 120)
  --hold-frames N          frames held per frozen migration until its new port exists (default 16384;
                           0: no hold at all)
  --hold-bytes N           bytes held per frozen migration (default 16777216)
  --hold-total-frames N    frames held over all migrations (default 131072)
  --hold-total-bytes N     bytes held over all migrations (default 67108864); beyond a cap frames
                           are dropped and counted (vino_migration_hold_dropped_frames_total)
  --hold-replay-burst N    held frames replayed per burst, each confirmed by a barrier before the
                           next (default 64; 0: all at once)
  --hold-replay-window N   replayed frames delivered at the new port after the container last sent
                           one (the port's counters) before the next burst waits for it to send
                           (default 128; 0: pace by barriers only)
  --log-level LEVEL        trace, debug, info, warn, error (default info)
  --log-format FORMAT      pretty (readable lines) or json (one object a line, level names,
                           ISO times); default pretty when stdout is a terminal, else json
${topologyInputHelp(27)}
  --provider netns|ssh     how a reload with provisioning reaches new nodes (OVSDB); without it,
                           such a reload is refused. SIGHUP then provisions too
  --state-dir DIR          netns provider: the testbed's state directory
  -h, --help               show this help
  -V, --version            print the version

SIGHUP re-reads FILE and applies the difference (see "vino-controller reload --help"); an
invalid file is logged with its problems and changes nothing.

Exit status: 0 after a clean stop, 1 on a bad topology or a busy port, 2 on a bad command line.
`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        topology: { type: 'string' },
        'of-listen': { type: 'string', multiple: true },
        'of-key': { type: 'string' },
        'of-cert': { type: 'string' },
        'of-ca': { type: 'string' },
        'api-cert': { type: 'string' },
        'api-key': { type: 'string' },
        'api-listen': { type: 'string' },
        'api-token': { type: 'string' },
        'api-max-body': { type: 'string' },
        state: { type: 'string' },
        'state-reset': { type: 'boolean' },
        'max-handshaking': { type: 'string' },
        'hello-timeout': { type: 'string' },
        'handshake-timeout': { type: 'string' },
        'idle-timeout': { type: 'string' },
        'packet-in-rate': { type: 'string' },
        'echo-rate': { type: 'string' },
        'max-bad-messages': { type: 'string' },
        'migration-timeout': { type: 'string' },
        'audit-interval': { type: 'string' },
        etcd: { type: 'string' },
        member: { type: 'string' },
        'advertise-api': { type: 'string' },
        'lease-ttl': { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        ...TOPOLOGY_INPUT_OPTIONS,
        'hold-frames': { type: 'string' },
        'hold-bytes': { type: 'string' },
        'hold-total-frames': { type: 'string' },
        'hold-total-bytes': { type: 'string' },
        'hold-replay-burst': { type: 'string' },
        'hold-replay-window': { type: 'string' },
        provider: { type: 'string' },
        'state-dir': { type: 'string' },
      },
      strict: true,
    });
    if (!values.topology) throw new UsageError('missing --topology FILE');
    const level = values['log-level'] ?? 'info';
    if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level)) throw new UsageError(`--log-level: unknown level "${level}"`);
    let logFormat;
    try {
      logFormat = values['log-format'] === undefined ? defaultLogFormat() : parseLogFormat(values['log-format']);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    let ofListen;
    let apiListen;
    const ofTls = {
      ...(values['of-key'] !== undefined ? { key: await readPem(values['of-key'], '--of-key') } : {}),
      ...(values['of-cert'] !== undefined ? { cert: await readPem(values['of-cert'], '--of-cert') } : {}),
      ...(values['of-ca'] !== undefined ? { ca: await readPem(values['of-ca'], '--of-ca') } : {}),
    };
    if ((values['api-cert'] === undefined) !== (values['api-key'] === undefined)) {
      throw new UsageError(`HTTPS needs both --api-cert and --api-key (missing ${values['api-cert'] === undefined ? '--api-cert' : '--api-key'})`);
    }
    const apiTls = values['api-cert'] !== undefined
      ? { cert: await readPem(values['api-cert'], '--api-cert'), key: await readPem(values['api-key']!, '--api-key') }
      : undefined;
    try {
      ofListen = (values['of-listen'] ?? ['0.0.0.0:6633', '0.0.0.0:6653']).map((t) => parseOfListen(t, ofTls));
      if (Object.keys(ofTls).length > 0 && !ofListen.some((l) => l.tls)) throw new Error('--of-key/--of-cert/--of-ca are for ssl: listeners, and no --of-listen is ssl:HOST:PORT');
      apiListen = values['api-listen'] === 'off' ? null : parseListen(values['api-listen'] ?? '127.0.0.1:8080', '--api-listen');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const maxBody = values['api-max-body'] === undefined ? undefined : parseSize(values['api-max-body'], '--api-max-body');
    const apiToken = values['api-token'] ?? process.env.VINO_API_TOKEN;
    if (apiListen && !isLoopbackHost(apiListen.host) && !apiToken) {
      // Migrations and container moves through an open port would be anyone's to make.
      throw new UsageError(`--api-listen ${apiListen.host}:${apiListen.port} is not a loopback address: set --api-token TOKEN (or $VINO_API_TOKEN) to expose the API`);
    }
    if (values['state-reset'] && !values.state) throw new UsageError('--state-reset needs --state FILE');
    const number = (flag: string, min: number, integer: boolean): number | undefined => {
      const text = (values as Record<string, unknown>)[flag] as string | undefined;
      if (text === undefined) return undefined;
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
        throw new UsageError(`--${flag}: expected ${integer ? 'an integer' : 'a number'} >= ${min}, got "${text}"`);
      }
      return n;
    };
    const maxHandshaking = number('max-handshaking', 1, true);
    const session: Partial<SessionOptions> = {};
    const helloTimeout = number('hello-timeout', 0.001, false);
    const handshakeTimeout = number('handshake-timeout', 0.001, false);
    const idleTimeout = number('idle-timeout', 0.001, false);
    const packetInRate = number('packet-in-rate', 0, true);
    const echoRate = number('echo-rate', 0, true);
    const maxBadMessages = number('max-bad-messages', 0, true);
    if (maxBadMessages !== undefined) session.maxBadMessages = maxBadMessages;
    if (helloTimeout !== undefined) session.helloTimeoutMs = helloTimeout * 1000;
    if (handshakeTimeout !== undefined) session.handshakeTimeoutMs = handshakeTimeout * 1000;
    if (idleTimeout !== undefined) {
      session.idleTimeoutMs = idleTimeout * 1000;
      session.echoIntervalMs = Math.min(5000, session.idleTimeoutMs / 3);
    }
    if (packetInRate !== undefined) session.packetInRate = packetInRate;
    if (echoRate !== undefined) session.echoRate = echoRate;
    const migrationTimeout = values['migration-timeout'] === undefined ? 120 : Number(values['migration-timeout']);
    if (!Number.isFinite(migrationTimeout) || migrationTimeout <= 0) throw new UsageError('--migration-timeout: expected a positive number of seconds');

    const etcd = values.etcd === undefined ? undefined : values.etcd.split(',').map((u) => u.trim()).filter((u) => u !== '');
    if (etcd) {
      if (etcd.length === 0) throw new UsageError('--etcd: expected one or more URLs like http://127.0.0.1:2379');
      for (const u of etcd) if (!/^https?:\/\/[^/\s]+\/?$/.test(u)) throw new UsageError(`--etcd: "${u}" is not an etcd client URL like http://127.0.0.1:2379`);
      if (values.state) throw new UsageError('--state and --etcd exclude each other: a cluster keeps its state in etcd');
    } else {
      for (const flag of ['member', 'advertise-api', 'lease-ttl'] as const) if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --etcd`);
    }
    const leaseTtl = values['lease-ttl'] === undefined ? 1 : Number(values['lease-ttl']);
    if (!Number.isInteger(leaseTtl) || leaseTtl < 1) throw new UsageError('--lease-ttl: expected a whole number of seconds >= 1');
    if (values['advertise-api'] !== undefined && !/^https?:\/\/\S+$/.test(values['advertise-api'])) throw new UsageError(`--advertise-api: "${values['advertise-api']}" is not a URL like http://10.0.0.2:8080`);


    const providerKind = values.provider;
    if (providerKind !== undefined && providerKind !== 'netns' && providerKind !== 'ssh') throw new UsageError(`--provider: unknown provider "${providerKind}" (netns or ssh)`);
    if (values['state-dir'] !== undefined && providerKind !== 'netns') throw new UsageError('--state-dir is an option of the netns provider');
    const providerOptions: Record<string, unknown> = values['state-dir'] !== undefined ? { 'state-dir': values['state-dir'] } : {};
    // A provider per provisioning run, made from the topology being applied (new nodes, new addresses).
    const provisioner: Provisioner | undefined = providerKind === undefined ? undefined : async (t, nodes) => {
      const { makeProvider } = await import('./provision.js');
      const { runProvisioning } = await import('../provision/run.js');
      const provider = await makeProvider(providerKind, t, providerOptions, undefined);
      try {
        const report = await runProvisioning(t, provider, { mode: 'provision', nodes });
        return report.nodes.map((n) => ({ node: n.node, ok: n.status !== 'failed', ...(n.error ? { error: n.error } : {}) }));
      } finally {
        await provider.close();
      }
    };

    const holdLimits: Partial<HoldLimits> = {};
    for (const [flag, key] of [['hold-frames', 'maxFrames'], ['hold-bytes', 'maxBytes'], ['hold-total-frames', 'maxTotalFrames'], ['hold-total-bytes', 'maxTotalBytes'], ['hold-replay-burst', 'replayBurst'], ['hold-replay-window', 'replayWindow']] as const) {
      const text = values[flag];
      if (text === undefined) continue;
      const n = Number(text);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`--${flag}: expected a non-negative integer, got "${text}"`);
      holdLimits[key] = n;
    }

    const audit = values['audit-interval'] === undefined ? 10 : Number(values['audit-interval']);
    if (!Number.isFinite(audit) || audit < 0) throw new UsageError('--audit-interval: expected a number of seconds >= 0');

    const limits = topologyInputLimits(values);
    const analysis = await readTopology(values.topology, limits);
    const { topology } = analysis;
    if (!topology) {
      reportInvalidTopology(io, 'vino-controller', values.topology, analysis, limits.maxProblems);
      return EXIT_INVALID;
    }
    let app;
    try {
      const common = {
        topology, ofListen, apiListen, logger: makeLogger({ level, format: logFormat }), version: packageVersion(),
        ...(maxHandshaking !== undefined ? { maxHandshaking } : {}),
        ...(Object.keys(session).length > 0 ? { session } : {}),
        ...(apiToken ? { apiToken } : {}),
        migrationTimeoutMs: migrationTimeout * 1000, holdLimits,
        ...(maxBody !== undefined ? { apiMaxBodyBytes: maxBody } : {}),
        auditIntervalMs: audit * 1000,
        ...(apiTls ? { apiTls } : {}),
        ...(provisioner ? { provisioner } : {}),
      };
      app = etcd
        ? await startMember({
          ...common, etcd, leaseTtlSeconds: leaseTtl,
          member: values.member ?? `${hostname()}-${process.pid}`,
          advertiseApi: values['advertise-api'] ?? (apiListen ? `http://${apiListen.host.includes(':') ? `[${apiListen.host}]` : apiListen.host}:${apiListen.port}` : null),
        })
        : await startApp({ ...common, ...(values.state ? { stateFile: values.state } : {}), ...(values['state-reset'] ? { stateReset: true } : {}) });
    } catch (err) {
      io.err(`vino-controller: ${(err as Error).message}\n`);
      return EXIT_INVALID;
    }
    // The one line that says what runs: which file (and its size, to spot a wrong or truncated
    // one), what is in it, and where to connect.
    app.logger.info(
      {
        version: packageVersion(),
        topology: { file: values.topology, bytes: analysis.bytes, name: topology.name, nodes: Object.keys(topology.nodes).length, links: topology.links.length, containers: Object.keys(topology.containers).length },
        openflow: app.openflow.map((a) => `${a.host}:${a.port}`),
        api: app.api ? `http://${app.api.host}:${app.api.port}` : 'off',
      },
      `started: topology ${values.topology} (${analysis.bytes} bytes, "${topology.name}": ${summarize(topology)})`,
    );
    const file = values.topology;
    const onHup = () => {
      void (async () => {
        const read = await readTopology(file, limits);
        const next = read.topology;
        if (!next) {
          app.logger.error({ signal: 'SIGHUP', file, problems: read.readError ? [read.readError.message] : formatProblemList(read.problems, file, limits.maxProblems).split('\n') }, 'reload refused: the topology file is invalid; nothing changed');
          return;
        }
        try {
          await app.controller.reload(next, { provision: provisioner !== undefined });
        } catch (err) {
          app.logger.error({ signal: 'SIGHUP', file, err: (err as Error).message }, 'reload refused; nothing changed');
        }
      })();
    };
    process.on('SIGHUP', onHup);
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          // A second Ctrl-C means "now": the flows stay on the switches either way.
          app.logger.warn({ signal, waitingFor: app.controller.stopPhase }, 'second signal: exiting without waiting');
          process.exit(EXIT_INTERRUPTED);
        }
        stopping = true;
        app.logger.info({ signal }, 'stopping: sessions closed, flows left in place');
        process.off('SIGHUP', onHup);
        // A shutdown that does not end says what it waits for, and is bounded.
        const started = Date.now();
        const watchdog = setInterval(() => {
          const waitedMs = Date.now() - started;
          if (waitedMs >= STOP_LIMIT_MS) {
            app.logger.error({ waitedMs, waitingFor: app.controller.stopPhase, active: process.getActiveResourcesInfo() }, 'stop did not finish: exiting anyway (flows left in place)');
            process.exit(EXIT_STOP_TIMEOUT);
          }
          app.logger.warn({ waitedMs, waitingFor: app.controller.stopPhase }, 'still stopping');
        }, STOP_REPORT_MS);
        void app.stop().finally(() => clearInterval(watchdog)).then(resolve, resolve);
      };
      const onTerm = () => stop('SIGTERM');
      const onInt = () => stop('SIGINT');
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
    });
    return EXIT_OK;
  },
};

/** Exit status after a second SIGINT/SIGTERM (the shell's convention for an interrupt). */
const EXIT_INTERRUPTED = 130;
/** Exit status when stopping took longer than STOP_LIMIT_MS. */
const EXIT_STOP_TIMEOUT = 1;
const STOP_REPORT_MS = 5_000;
const STOP_LIMIT_MS = 30_000;

/** "65536", "64KiB", "1MiB" → bytes. */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/i.exec(text.trim());
  const unit = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }[(m?.[2] ?? 'b').toLowerCase() as 'b'];
  const bytes = m ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new UsageError(`${what}: expected a size in bytes such as 65536, 64KiB or 1MiB, got "${text}"`);
  return bytes;
}

/** Reads a PEM file named by `flag`; a clear usage error when it is missing or not PEM. */
async function readPem(file: string, flag: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${file}: ${readErrorReason(err)}`);
  }
  if (!text.includes('-----BEGIN ')) throw new UsageError(`${flag}: ${file} is not a PEM file (no -----BEGIN line)`);
  return text;
}
