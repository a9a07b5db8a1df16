/**
 * Runs the controller for a benchmark (`node dist/bench/lib/vino-launcher.js --topology FILE
 * --of-listen HOST:PORT [--log-level LEVEL]`), for as long as `vino-controller --topology`
 * does not start it yet (the default command is not registered in controller/cli.ts). Same
 * startApp call as the real command, no HTTP API; exits cleanly on SIGTERM/SIGINT so that
 * `node --cpu-prof` writes its profile.
 */
import { parseArgs } from 'node:util';
import { loadTopology } from '../../src/topology/load.js';
import { parseListen, startApp } from '../../controller/app.js';

const { values } = parseArgs({
  options: {
    topology: { type: 'string' },
    'of-listen': { type: 'string', multiple: true },
    'log-level': { type: 'string' },
  },
  strict: true,
});
if (!values.topology || !values['of-listen']) {
  process.stderr.write('usage: vino-launcher --topology FILE --of-listen HOST:PORT [--log-level LEVEL]\n');
  process.exit(2);
}
const topology = await loadTopology(values.topology);
const app = await startApp({
  topology,
  ofListen: values['of-listen'].map((t) => parseListen(t, '--of-listen')),
  apiListen: null,
  logLevel: values['log-level'] ?? 'warn',
});
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  app.stop().then(() => process.exit(0), (err: Error) => {
    process.stderr.write(`vino-launcher: stop failed: ${err.message}\n`);
    process.exit(1);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
