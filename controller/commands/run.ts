/** `vino-controller [--topology FILE] ...`: runs the controller (the default command). */
import { parseArgs } from 'node:util';
import { parseListen, startApp } from '../app.js';
import { summarize } from '../../src/topology/query.js';
import { EXIT_INVALID, EXIT_OK, UsageError, type Command } from './command.js';
import { defaultLogFormat, makeLogger, parseLogFormat } from './log-format.js';
import { readTopology, reportInvalidTopology, TOPOLOGY_INPUT_OPTIONS, topologyInputHelp, topologyInputLimits } from './topology-input.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'run the controller (the default when no command is given)',
  help: `Usage: vino-controller [run] --topology FILE [OPTIONS]

Runs the OpenFlow 1.3 controller for the overlay described by FILE: switches connect to it
(controller target tcp:HOST:6633 or :6653), it installs every flow proactively and keeps them
in step with where containers are. Stopping it (SIGTERM, SIGINT) leaves the flows in place.

Options:
  --topology FILE          topology file (JSON, see schema/topology.schema.json); required
  --of-listen HOST:PORT    where switches connect; repeatable (default 0.0.0.0:6633 and 0.0.0.0:6653)
  --api-listen HOST:PORT   HTTP API and event stream (default 127.0.0.1:8080; "off" to disable)
  --api-token TOKEN        require "Authorization: Bearer TOKEN" (default: $VINO_API_TOKEN)
  --state FILE             location table and migrations, saved on every change, reloaded at start
  --migration-timeout SEC  abort prepared migrations not committed within SEC seconds (default 120)
  --log-level LEVEL        trace, debug, info, warn, error (default info)
  --log-format FORMAT      pretty (readable lines) or json (one object a line, level names,
                           ISO times); default pretty when stdout is a terminal, else json
${topologyInputHelp(27)}
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
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        ...TOPOLOGY_INPUT_OPTIONS,
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
    try {
      ofListen = (values['of-listen'] ?? ['0.0.0.0:6633', '0.0.0.0:6653']).map((t) => parseListen(t, '--of-listen'));
      apiListen = values['api-listen'] === 'off' ? null : parseListen(values['api-listen'] ?? '127.0.0.1:8080', '--api-listen');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const migrationTimeout = values['migration-timeout'] === undefined ? 120 : Number(values['migration-timeout']);
    if (!Number.isFinite(migrationTimeout) || migrationTimeout <= 0) throw new UsageError('--migration-timeout: expected a positive number of seconds');

    const limits = topologyInputLimits(values);
    const analysis = await readTopology(values.topology, limits);
    const { topology } = analysis;
    if (!topology) {
      reportInvalidTopology(io, 'vino-controller', values.topology, analysis, limits.maxProblems);
      return EXIT_INVALID;
    }
    const { packageVersion } = await import('../cli.js');
    let app;
    try {
      app = await startApp({
        topology, ofListen, apiListen, logger: makeLogger({ level, format: logFormat }), version: packageVersion(),
        ...(values.state ? { stateFile: values.state } : {}),
        ...(values['api-token'] ?? process.env.VINO_API_TOKEN ? { apiToken: values['api-token'] ?? process.env.VINO_API_TOKEN } : {}),
        migrationTimeoutMs: migrationTimeout * 1000,
      });
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
