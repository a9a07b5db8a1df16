/** `vino-controller [--topology FILE] ...`: runs the controller (the default command). */
import { parseArgs } from 'node:util';
import { analyzeTopologyFile } from '../../src/topology/load.js';
import { formatProblem } from '../../src/topology/problems.js';
import { hostname } from 'node:os';
import { parseListen, startApp } from '../app.js';
import { startMember } from '../ha/member.js';
import { EXIT_INVALID, EXIT_OK, UsageError, type Command } from './command.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'run the controller (the default when no command is given)',
  help: `Usage: vino-controller [run] --topology FILE [OPTIONS]

Runs the OpenFlow 1.3 controller for the overlay described by FILE: switches connect to it
(controller target tcp:HOST:6633 or :6653), it installs every flow proactively and keeps them
in step with where containers are. Stopping it (SIGTERM, SIGINT) leaves the flows in place.

Options:
  --topology FILE          topology file (JSON, see topologies/schema.json); required
  --of-listen HOST:PORT    where switches connect; repeatable (default 0.0.0.0:6633 and 0.0.0.0:6653)
  --api-listen HOST:PORT   HTTP API and event stream (default 127.0.0.1:8080; "off" to disable)
  --api-token TOKEN        require "Authorization: Bearer TOKEN" (default: $VINO_API_TOKEN)
  --state FILE             location table and migrations, saved on every change, reloaded at start
  --etcd URL[,URL...]      run as one member of a controller cluster whose state and election
                           live in etcd (v3); without it the controller runs alone
  --member NAME            this member's name in the cluster (default: HOSTNAME-PID)
  --advertise-api URL      where other members redirect API writes to (default: http://API-LISTEN)
  --lease-ttl SEC          election lease TTL: how long a dead master keeps the lead (default 1;
                           etcd raises it to its minimum, 2 s with its default timeouts)
  --migration-timeout SEC  abort prepared migrations not committed within SEC seconds (default 120)
  --log-level LEVEL        trace, debug, info, warn, error (default info); logs are JSON lines
  -h, --help               show this help
  -V, --version            print the version

Exit status: 0 after a clean stop, 1 on a bad topology or a busy port, 2 on a bad command line.
`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        topology: { type: 'string' },
        'of-listen': { type: 'string', multiple: true },
        'api-listen': { type: 'string' },
        'api-token': { type: 'string' },
        state: { type: 'string' },
        'migration-timeout': { type: 'string' },
        etcd: { type: 'string' },
        member: { type: 'string' },
        'advertise-api': { type: 'string' },
        'lease-ttl': { type: 'string' },
        'log-level': { type: 'string' },
      },
      strict: true,
    });
    if (!values.topology) throw new UsageError('missing --topology FILE');
    const level = values['log-level'] ?? 'info';
    if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level)) throw new UsageError(`--log-level: unknown level "${level}"`);
    let ofListen;
    let apiListen;
    try {
      ofListen = (values['of-listen'] ?? ['0.0.0.0:6633', '0.0.0.0:6653']).map((t) => parseListen(t, '--of-listen'));
      apiListen = values['api-listen'] === 'off' ? null : parseListen(values['api-listen'] ?? '127.0.0.1:8080', '--api-listen');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
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

    const { topology, problems } = await analyzeTopologyFile(values.topology);
    if (!topology) {
      io.err(`vino-controller: the topology ${values.topology} is invalid:\n`);
      for (const p of problems) io.err(`  ${formatProblem(p, values.topology)}\n`);
      return EXIT_INVALID;
    }
    const { packageVersion } = await import('../cli.js');
    let app;
    try {
      const common = {
        topology, ofListen, apiListen, logLevel: level, version: packageVersion(),
        ...(values['api-token'] ?? process.env.VINO_API_TOKEN ? { apiToken: values['api-token'] ?? process.env.VINO_API_TOKEN } : {}),
        migrationTimeoutMs: migrationTimeout * 1000,
      };
      app = etcd
        ? await startMember({
          ...common, etcd, leaseTtlSeconds: leaseTtl,
          member: values.member ?? `${hostname()}-${process.pid}`,
          advertiseApi: values['advertise-api'] ?? (apiListen ? `http://${apiListen.host.includes(':') ? `[${apiListen.host}]` : apiListen.host}:${apiListen.port}` : null),
        })
        : await startApp({ ...common, ...(values.state ? { stateFile: values.state } : {}) });
    } catch (err) {
      io.err(`vino-controller: ${(err as Error).message}\n`);
      return EXIT_INVALID;
    }
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        app.logger.info({ signal }, 'stopping: sessions closed, flows left in place');
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        void app.stop().then(resolve, resolve);
      };
      const onTerm = () => stop('SIGTERM');
      const onInt = () => stop('SIGINT');
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
    });
    return EXIT_OK;
  },
};
