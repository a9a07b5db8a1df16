// Shared bits of the testbed tests: small node programs run inside containers, and the checks
// that a run left nothing behind.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadTopology } from '../../src/topology/load.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { repoRoot } from '../util/paths.js';
import { join } from 'node:path';

/** tap's loaders (NODE_OPTIONS) would load into every node started in a container. */
export const nodeArgv = (script: string, ...args: string[]) => ['env', '-u', 'NODE_OPTIONS', process.execPath, '-e', script, ...args];

export const cleanEnv = (): Record<string, string> =>
  Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0] !== 'NODE_OPTIONS' && e[1] !== undefined));

export const topologyFile = (name: string) => join(repoRoot(), 'topologies', name);
export const loadExample = (name: string): Promise<ResolvedTopology> => loadTopology(topologyFile(name));

/** TCP sink: answers each connection, once the client half-closes, with `<bytes> <sha256>`. */
export const SINK = `
const net = require('node:net'), crypto = require('node:crypto');
net.createServer((s) => {
  const h = crypto.createHash('sha256'); let n = 0;
  s.on('data', (d) => { h.update(d); n += d.length; });
  s.on('end', () => s.end(n + ' ' + h.digest('hex') + '\\n'));
  s.on('error', () => {});
}).listen(Number(process.argv[1]), '0.0.0.0', () => console.log('listening'));
`;

/** TCP source: sends argv[3] random bytes to argv[1]:argv[2], prints {sent, sha256, reply}. */
export const SOURCE = `
const net = require('node:net'), crypto = require('node:crypto');
const data = crypto.randomBytes(Number(process.argv[3]));
const s = net.connect(Number(process.argv[2]), process.argv[1], () => s.end(data));
let reply = '';
s.setTimeout(30000, () => { console.error('timeout after ' + s.bytesWritten + ' bytes'); process.exit(3); });
s.on('data', (d) => (reply += d));
s.on('end', () => console.log(JSON.stringify({ sent: data.length, sha256: crypto.createHash('sha256').update(data).digest('hex'), reply: reply.trim() })));
s.on('error', (e) => { console.error(e.message); process.exit(2); });
`;

/** Answers every connection with its own pid (proves the very process survived a move). */
export const PID_SERVER = `
require('node:net').createServer((s) => s.end(process.pid + '\\n')).listen(Number(process.argv[1]), '0.0.0.0', () => console.log('listening'));
`;

/** Connects to argv[1]:argv[2] and prints what the server says. */
export const TCP_GET = `
const s = require('node:net').connect(Number(process.argv[2]), process.argv[1]);
let r = ''; s.setTimeout(10000, () => process.exit(3));
s.on('data', (d) => (r += d)); s.on('end', () => console.log(r.trim())); s.on('error', (e) => { console.error(e.message); process.exit(2); });
`;

/** What is left on the machine of run `runId` (namespaces, root links, processes, folders). */
export function leftoversOf(runId: string, runDir: string): string[] {
  const out: string[] = [];
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of netns.split('\n')) if (line.startsWith(`${runId}-`) || line.startsWith(`${runId}.`)) out.push(`namespace ${line.split(' ')[0]}`);
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  for (const line of links.split('\n')) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (name?.startsWith(`${runId}-`)) out.push(`link ${name}`);
  }
  try {
    const procs = execFileSync('pgrep', ['-af', runDir], { encoding: 'utf8' });
    for (const p of procs.split('\n').filter(Boolean)) out.push(`process ${p}`);
  } catch {
    // pgrep exits 1 when nothing matches
  }
  if (existsSync(runDir)) out.push(`folder ${runDir}`);
  if (existsSync(`/run/vino-testbed/${runId}`)) out.push(`registry /run/vino-testbed/${runId}`);
  return out;
}
