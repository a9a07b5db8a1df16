/**
 * The README's commands, run exactly as written, from a fresh login shell with the PATH a new
 * user has (no npx, no node_modules/.bin), in the repository folder, after `scripts/setup`:
 * its links /usr/local/bin/vino-controller and vino-ofp must point at this checkout's dist
 * (they are made for the test's duration when missing, and put back afterwards).
 * The set-up lines install packages: they are only checked to be there.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../util/paths.js';

const root = repoRoot();
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const home = mkdtempSync(path.join(os.tmpdir(), `vino-newcomer-${process.pid}-`));
t.teardown(() => rmSync(home, { recursive: true, force: true }));

/** Every command line of the README's code blocks (indented or fenced), comments stripped. */
function readmeCommands(text: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (!fenced && !/^ {4,}\S/.test(line)) continue;
    const cmd = line.replace(/\s+#\s.*$/, '').trim();
    if (/^(vino-controller|vino-ofp|bash scripts\/setup|echo .*\| *vino-ofp)\b/.test(cmd)) out.push(cmd);
  }
  return out;
}

const commands = readmeCommands(readme);
const pick = (re: RegExp): string[] => commands.filter((c) => re.test(c));

/** Runs one command line in a fresh login shell: empty environment but PATH and HOME. */
function fresh(cmd: string): { status: number | null; out: string; err: string } {
  const r = spawnSync('env', ['-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOME=${home}`, 'bash', '-lc', `cd ${JSON.stringify(root)} && ${cmd}`], {
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** The /usr/local/bin links the README relies on: this checkout's, for the test's duration. */
const LINKS: Array<[string, string]> = [
  ['/usr/local/bin/vino-controller', path.join(root, 'dist/controller/cli.js')],
  ['/usr/local/bin/vino-ofp', path.join(root, 'dist/src/openflow/cli.js')],
];
for (const [link, target] of LINKS) {
  const ours = existsSync(link) && realpathSync(link) === realpathSync(target);
  if (ours) continue;
  let aside: string | null = null;
  if (existsSync(link) || isSymlink(link)) {
    aside = `${link}.vino-newcomer-${process.pid}`;
    renameSync(link, aside);
  }
  symlinkSync(target, link);
  t.teardown(() => {
    unlinkSync(link);
    if (aside) renameSync(aside, link);
  });
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

t.test('the set-up lines are there (not run: they install packages)', async (t) => {
  t.ok(commands.includes('bash scripts/setup && npm run demo'), 'bash scripts/setup && npm run demo');
  t.ok(commands.includes('bash scripts/setup && npm test'), 'bash scripts/setup && npm test');
  const setup = readFileSync(path.join(root, 'scripts/setup'), 'utf8');
  t.match(setup, /DPkg::Lock::Timeout=600/, 'apt waits for the dpkg lock');
  t.match(setup, /ln -sfn "\$repo\/dist\/controller\/cli\.js" \/usr\/local\/bin\/vino-controller/, 'setup links vino-controller');
  t.match(setup, /ln -sfn "\$repo\/dist\/src\/openflow\/cli\.js" \/usr\/local\/bin\/vino-ofp/, 'setup links vino-ofp');
});

t.test('a new shell finds both commands, and they are this checkout', async (t) => {
  for (const [name, target] of [['vino-controller', LINKS[0]![1]], ['vino-ofp', LINKS[1]![1]]] as const) {
    const r = fresh(`readlink -f "$(command -v ${name})"`);
    t.equal(r.status, 0, `${name} is on the PATH`);
    t.equal(r.out.trim(), realpathSync(target), `${name} runs ${target}`);
    const v = fresh(`${name} -V`);
    t.equal(v.status, 0);
    t.match(v.out, new RegExp(`^${name} \\d+\\.\\d+\\.\\d+\\n$`));
  }
  const bare = fresh('vino-controller');
  t.equal(bare.status, 2, 'vino-controller alone: bad command line');
  t.match(bare.err, /missing --topology FILE/);
  t.match(bare.err, /Commands:\n {2}run /);
});

t.test('vino-ofp and import-dsl lines', async (t) => {
  const ofp = pick(/vino-ofp/);
  t.ok(ofp.length > 0, 'the README shows vino-ofp');
  for (const cmd of ofp) {
    const r = fresh(cmd);
    t.equal(r.status, 0, cmd);
    t.match(r.out, /"type":"HELLO"/, cmd);
  }
  for (const cmd of pick(/^vino-controller import-dsl /)) {
    const r = fresh(cmd);
    t.equal(r.status, 0, cmd);
    t.match(JSON.parse(r.out), { nodes: Object }, cmd);
  }
});

async function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

t.test('the overlay walkthrough, in order', async (t) => {
  // The walkthrough on the shipped examples; other sections show templates for real machines (net.json).
  const validate = pick(/^vino-controller validate topologies\//);
  const up = pick(/^vino-controller testbed up --topology topologies\//);
  const provision = pick(/^vino-controller provision --topology topologies\//);
  const run = pick(/^vino-controller --topology topologies\//);
  const down = pick(/^vino-controller testbed down --topology topologies\//);
  for (const [what, list] of Object.entries({ validate, up, provision, run, down })) t.equal(list.length, 1, `one ${what} line`);

  const v = fresh(validate[0]!);
  t.equal(v.status, 0, `${validate[0]}: ${v.err}`);
  const examples = fresh('ls topologies/*.json').out.trim().split('\n');
  for (const f of examples) t.match(v.out, `${f}: ok: topology`, `${f} reported`);

  const u = fresh(up[0]!);
  t.equal(u.status, 0, `${up[0]}: ${u.err}`);
  if (u.status !== 0) return;
  t.teardown(() => {
    const d = fresh(down[0]!);
    if (d.status !== 0 && !/no testbed/.test(d.err)) process.stderr.write(`cleanup: ${down[0]}: ${d.err}\n`);
  });
  t.match(u.out, /testbed vt[0-9a-f]{4} up for topology "line-3"/);

  const p = fresh(provision[0]!);
  t.equal(p.status, 0, `${provision[0]}: ${p.out}${p.err}`);
  t.match(p.out, /with the netns provider: 3 nodes/, 'auto picked the running testbed');
  const again = fresh(provision[0]!);
  t.equal(again.status, 0);
  t.match(again.out, /up to date/, 'a second run changes nothing');

  const busy = [];
  for (const [port, host] of [[6633, '0.0.0.0'], [6653, '0.0.0.0'], [8080, '127.0.0.1']] as const) if (!(await portFree(port, host))) busy.push(port);
  if (busy.length) {
    t.skip(`${run[0]}: port ${busy.join(', ')} is taken by another program on this machine`, async () => {});
  } else {
    const child = spawn('env', ['-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOME=${home}`, 'bash', '-lc', `cd ${JSON.stringify(root)} && exec ${run[0]}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    t.teardown(() => void child.kill('SIGKILL'));
    // Until the start-up line, or the process ends (the tap timeout bounds a hang).
    while (!/"msg":"started: /.test(out) && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    t.equal(child.exitCode, null, `${run[0]} keeps running: ${err}`);
    const line = out.split('\n').find((l) => l.includes('"msg":"started: '));
    t.ok(line, 'start-up line');
    if (line) {
      const started = JSON.parse(line);
      t.equal(started.level, 'info', 'level by name (JSON: not a terminal)');
      t.match(started.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO time');
      t.match(started.topology, { file: 'topologies/line-3.json', bytes: lstatSync(path.join(root, 'topologies/line-3.json')).size, nodes: 3, links: 2 });
      t.same(started.openflow, ['0.0.0.0:6633', '0.0.0.0:6653']);
      t.equal(started.api, 'http://127.0.0.1:8080');
    }
    child.kill('SIGINT');
    const code = await exited;
    // When it does not stop cleanly, its last lines say what the stop waited for.
    t.equal(code, 0, code === 0 ? 'Ctrl-C stops it cleanly' : `Ctrl-C stops it cleanly; last lines:\n${out.trim().split('\n').slice(-4).join('\n')}\n${err}`);
  }

  const d = fresh(down[0]!);
  t.equal(d.status, 0, `${down[0]}: ${d.err}`);
  t.match(d.out, /testbed vt[0-9a-f]{4} removed/);
});
