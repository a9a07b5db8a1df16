/**
 * `npm run fuzz:live [-- --attack-sec N]`: the running controller (its own process) against
 * many concurrent hostile OpenFlow clients, while well-behaved emulated switches keep probing
 * it (see bench/lib/fuzz-live.ts). Prints what was sent, how every hostile session ended,
 * the good switches' packet-in RTT before and during the attack, their flow tables, and the
 * controller's RSS; exits 1 if a check failed (crash, good switch hurt, session left open).
 * FUZZ_LIVE_SEED sets the seed (printed either way).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../test/util/paths.js';
import { formatReport, runLiveFuzz } from './lib/fuzz-live.js';
import { seedFromEnv } from './lib/prng.js';

const { values } = parseArgs({ options: { 'attack-sec': { type: 'string' }, topology: { type: 'string' } }, strict: true });
const attackSec = Number(values['attack-sec'] ?? 60);
if (!Number.isFinite(attackSec) || attackSec <= 0) {
  console.error(`fuzz-live: --attack-sec expects a positive number, got ${values['attack-sec']}`);
  process.exit(2);
}
const topologyFile = values.topology ?? join(repoRoot(), 'topologies', 'two-region.json');
const { seed } = seedFromEnv('FUZZ_LIVE_SEED');
console.log(`live fuzz: ${topologyFile}, attack ${attackSec} s, seed ${seed} (FUZZ_LIVE_SEED=${seed} replays the hostile bytes)`);
const report = await runLiveFuzz({
  topologyFile, attackMs: attackSec * 1000, seed, slowByteMs: 1000, baselineProbes: 200,
  hostile: { mutated: 6, random: 6, slowloris: 40, huge: 6, floodPacketIn: 4, floodEcho: 2, storm: 1000, churn: 4 },
  controllerArgs: ['--hello-timeout', '5', '--handshake-timeout', '10', '--idle-timeout', '15', '--max-handshaking', '256'],
  progress: (l) => console.log(`  ${l}`),
});
console.log(formatReport(report));
const failures: string[] = [];
if (report.crashed) failures.push('the controller crashed');
if (report.internalErrors > 0) failures.push(`${report.internalErrors} internal errors`);
if (report.goodStillConnected !== report.goodSwitches) failures.push('a good switch was disconnected');
if (report.flowsChanged.length > 0) failures.push('good switches\' flows changed');
if (report.probesLost > 0) failures.push(`${report.probesLost} packet-in probes unanswered`);
if (report.openAtEnd !== report.goodSwitches) failures.push(`${report.openAtEnd - report.goodSwitches} hostile connections still open`);
if (report.closesLogged !== report.accepted - report.goodSwitches) failures.push('hostile sessions closed without a logged reason');
console.log(failures.length ? `\nFAILED: ${failures.join('; ')}` : '\nall checks passed');
process.exit(failures.length ? 1 : 0);
