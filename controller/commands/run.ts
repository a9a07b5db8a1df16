/** `vino-controller [--topology FILE] ...`: runs the controller (the default command). */
import { parseArgs } from 'node:util';
import { analyzeTopologyFile } from '../../src/topology/load.js';
import { formatProblem } from '../../src/topology/problems.js';
import { readFile } from 'node:fs/promises';
import { parseListen, parseOfListen, startApp } from '../app.js';
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
  --of-listen [tcp:|ssl:]HOST:PORT
                           where switches connect; repeatable, plain and TLS side by side
                           (default 0.0.0.0:6633 and 0.0.0.0:6653, plain TCP)
  --of-key FILE            for ssl: listeners: our private key (PEM, e.g. ovs-pki's ctl-privkey.pem)
  --of-cert FILE           for ssl: listeners: our certificate (PEM)
  --of-ca FILE             for ssl: listeners: the CA switch certificates must chain to
                           (ovs-pki's switchca/cacert.pem); switches without one are refused
  --api-cert FILE          serve the API over HTTPS with this certificate (PEM) ...
  --api-key FILE           ... and this private key; both or neither
  --api-listen HOST:PORT   HTTP API and event stream (default 127.0.0.1:8080; "off" to disable)
  --api-token TOKEN        require "Authorization: Bearer TOKEN" (default: $VINO_API_TOKEN)
  --state FILE             location table and migrations, saved on every change, reloaded at start
  --audit-interval SEC     read every switch's flows back and repair differences (flows
                           deleted by hand) every SEC seconds (default 10; 0 = off)
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
        'of-key': { type: 'string' },
        'of-cert': { type: 'string' },
        'of-ca': { type: 'string' },
        'api-cert': { type: 'string' },
        'api-key': { type: 'string' },
        'api-listen': { type: 'string' },
        'api-token': { type: 'string' },
        state: { type: 'string' },
        'migration-timeout': { type: 'string' },
        'audit-interval': { type: 'string' },
        'log-level': { type: 'string' },
      },
      strict: true,
    });
    if (!values.topology) throw new UsageError('missing --topology FILE');
    const level = values['log-level'] ?? 'info';
    if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level)) throw new UsageError(`--log-level: unknown level "${level}"`);
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
    const migrationTimeout = values['migration-timeout'] === undefined ? 120 : Number(values['migration-timeout']);
    if (!Number.isFinite(migrationTimeout) || migrationTimeout <= 0) throw new UsageError('--migration-timeout: expected a positive number of seconds');

    const audit = values['audit-interval'] === undefined ? 10 : Number(values['audit-interval']);
    if (!Number.isFinite(audit) || audit < 0) throw new UsageError('--audit-interval: expected a number of seconds >= 0');

    const { topology, problems } = await analyzeTopologyFile(values.topology);
    if (!topology) {
      io.err(`vino-controller: the topology ${values.topology} is invalid:\n`);
      for (const p of problems) io.err(`  ${formatProblem(p, values.topology)}\n`);
      return EXIT_INVALID;
    }
    const { packageVersion } = await import('../cli.js');
    let app;
    try {
      app = await startApp({
        topology, ofListen, apiListen, logLevel: level, version: packageVersion(),
        ...(values.state ? { stateFile: values.state } : {}),
        ...(values['api-token'] ?? process.env.VINO_API_TOKEN ? { apiToken: values['api-token'] ?? process.env.VINO_API_TOKEN } : {}),
        migrationTimeoutMs: migrationTimeout * 1000,
        auditIntervalMs: audit * 1000,
        ...(apiTls ? { apiTls } : {}),
      });
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

/** Reads a PEM file named by `flag`; a clear usage error when it is missing or not PEM. */
async function readPem(file: string, flag: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!text.includes('-----BEGIN ')) throw new UsageError(`${flag}: ${file} is not a PEM file (no -----BEGIN line)`);
  return text;
}
