/** `vino-controller [--topology FILE] ...`: runs the controller (the default command). */
import { parseArgs } from 'node:util';
import { analyzeTopologyFile } from '../../src/topology/load.js';
import { formatProblem } from '../../src/topology/problems.js';
import { parseListen, startApp } from '../app.js';
import { EXIT_INVALID, EXIT_OK, UsageError, type Command } from './command.js';
import { packageVersion } from './version.js';
import type { HoldLimits } from '../migration/hold.js';

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
  --migration-timeout SEC  abort prepared migrations not committed within SEC seconds (default 120)
  --hold-frames N          frames held per frozen migration until its new port exists (default 16384)
  --hold-bytes N           bytes held per frozen migration (default 16777216)
  --hold-total-frames N    frames held over all migrations (default 131072)
  --hold-total-bytes N     bytes held over all migrations (default 67108864); beyond a cap frames
                           are dropped and counted (vino_migration_hold_dropped_frames_total)
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
        'log-level': { type: 'string' },
        'hold-frames': { type: 'string' },
        'hold-bytes': { type: 'string' },
        'hold-total-frames': { type: 'string' },
        'hold-total-bytes': { type: 'string' },
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

    const holdLimits: Partial<HoldLimits> = {};
    for (const [flag, key] of [['hold-frames', 'maxFrames'], ['hold-bytes', 'maxBytes'], ['hold-total-frames', 'maxTotalFrames'], ['hold-total-bytes', 'maxTotalBytes']] as const) {
      const text = values[flag];
      if (text === undefined) continue;
      const n = Number(text);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`--${flag}: expected a non-negative integer, got "${text}"`);
      holdLimits[key] = n;
    }

    const { topology, problems } = await analyzeTopologyFile(values.topology);
    if (!topology) {
      io.err(`vino-controller: the topology ${values.topology} is invalid:\n`);
      for (const p of problems) io.err(`  ${formatProblem(p, values.topology)}\n`);
      return EXIT_INVALID;
    }
    let app;
    try {
      app = await startApp({
        topology, ofListen, apiListen, logLevel: level, version: packageVersion(),
        ...(values.state ? { stateFile: values.state } : {}),
        ...(values['api-token'] ?? process.env.VINO_API_TOKEN ? { apiToken: values['api-token'] ?? process.env.VINO_API_TOKEN } : {}),
        migrationTimeoutMs: migrationTimeout * 1000, holdLimits,
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
