// Brings a testbed up and waits to be killed: the subject of the exit-handler and stale-cleanup
// tests. Prints one JSON line {runId, runDir} once the testbed is up.
import { up } from '../../testbed/index.js';
import { loadTopology } from '../../src/topology/load.js';

const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: child-up TOPOLOGY.json');
const bed = await up(await loadTopology(file));
process.stdout.write(JSON.stringify({ runId: bed.runId, runDir: bed.runDir }) + '\n');
setInterval(() => {}, 60_000);
