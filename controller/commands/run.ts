/** `vino-controller [--topology FILE] ...`: runs the controller (the default command). */
import { parseArgs } from 'node:util';
import { analyzeTopologyFile } from '../../src/topology/load.js';
import { formatProblem } from '../../src/topology/problems.js';
import { parseListen, startApp } from '../app.js';
import { EXIT_INVALID, EXIT_OK, UsageError, type Command } from './command.js';
import type { Provisioner } from '../shell/controller.js';

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
  --log-level LEVEL        trace, debug, info, warn, error (default info); logs are JSON lines
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
        'api-listen': { type: 'string' },
        'api-token': { type: 'string' },
        state: { type: 'string' },
        'migration-timeout': { type: 'string' },
        'log-level': { type: 'string' },
        provider: { type: 'string' },
        'state-dir': { type: 'string' },
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
        ...(provisioner ? { provisioner } : {}),
      });
    } catch (err) {
      io.err(`vino-controller: ${(err as Error).message}\n`);
      return EXIT_INVALID;
    }
    const file = values.topology;
    const onHup = () => {
      void (async () => {
        const { topology: next, problems: found } = await analyzeTopologyFile(file);
        if (!next) {
          app.logger.error({ signal: 'SIGHUP', file, problems: found.map((p) => formatProblem(p, file)) }, 'reload refused: the topology file is invalid; nothing changed');
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
      const stop = (signal: string) => {
        app.logger.info({ signal }, 'stopping: sessions closed, flows left in place');
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        process.off('SIGHUP', onHup);
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
