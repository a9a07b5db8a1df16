/** The operator commands run as the compiled CLI against a controller with fake switches. */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { makeWorld, type World } from '../controller/world.js';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';
import { distFile, repoRoot } from '../util/paths.js';
import { errorMessage } from '../../controller/commands/api-client.js';
import { main } from '../../controller/cli.js';

const cli = distFile('controller/cli.js');
const TOKEN = 'op-t0ken';

interface Run { status: number | null; stdout: string; stderr: string }

/**
 * Runs the CLI without blocking this process (the controller under test lives here).
 * `onOutput` sees stdout as it grows, for commands that report progress.
 */
function runCli(args: string[], env: Record<string, string | undefined>, onOutput?: (stdout: string, stderr: string) => void): Promise<Run> {
  // tap's loaders (NODE_OPTIONS) would otherwise load into the child and slow it down.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && k !== 'VINO_API' && k !== 'VINO_API_TOKEN'));
  const given = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const child = spawn(process.execPath, [cli, ...args], { cwd: repoRoot(), env: { ...base, ...given } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    onOutput?.(stdout, stderr);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    onOutput?.(stdout, stderr);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.on('close', (status) => {
    clearTimeout(timer);
    resolve({ status, stdout, stderr });
  }));
}

const envOf = (w: World, token: string | null = TOKEN) => ({ VINO_API: w.apiUrl, VINO_API_TOKEN: token ?? undefined });
const apiGet = async <T>(w: World, path: string) => (await (await fetch(`${w.apiUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as T;

t.test('status, switches, containers, flows: tables and --json agree with the API', async (t) => {
  const w = await makeWorld('two-region.json', { apiToken: TOKEN });
  t.teardown(() => w.close());
  const env = envOf(w);

  const status = await runCli(['status'], env);
  t.equal(status.status, 0, status.stderr);
  t.match(status.stdout, /status\s+ok/);
  t.match(status.stdout, /switches\s+7\/7 connected/);
  t.match(status.stdout, /containers\s+3/);
  const statusJson = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { status: string; switches: { connected: number }; topology: string };
  t.match(statusJson, { status: 'ok', switches: { connected: 7 }, topology: 'two-region' });

  const topology = await apiGet<{ nodes: { name: string; dpid: string; flowCount: number }[] }>(w, '/api/v1/topology');
  const switches = await runCli(['switches'], env);
  t.equal(switches.status, 0);
  const lines = switches.stdout.trimEnd().split('\n');
  t.match(lines[0], /^NAME\s+KIND\s+REGION\s+DPID\s+STATE\s+ROLE\s+FLOWS\s+LAST-SYNC\s+ERRORS$/);
  t.equal(lines.length, topology.nodes.length + 1, 'one line per switch');
  for (const n of topology.nodes) {
    const line = lines.find((l) => l.startsWith(`${n.name} `));
    t.match(line, new RegExp(`^${n.name}\\s+\\S+\\s+\\S+\\s+${n.dpid}\\s+connected\\s+equal\\s+${n.flowCount}\\s`), `${n.name}: dpid, state, role, flows`);
  }
  const switchesJson = JSON.parse((await runCli(['switches', '--json'], env)).stdout) as { name: string; flowCount: number }[];
  t.same(switchesJson.map((s) => [s.name, s.flowCount]), topology.nodes.map((n) => [n.name, n.flowCount]));

  const containers = await apiGet<{ name: string; mac: string; node: string; source: string }[]>(w, '/api/v1/containers');
  const ctext = await runCli(['containers'], env);
  t.equal(ctext.status, 0);
  for (const c of containers) t.match(ctext.stdout, new RegExp(`\\n${c.name}\\s+${c.mac}\\s+\\S+\\s+${c.node}\\s.*\\s${c.source}\\s`), `${c.name} line`);
  t.same(JSON.parse((await runCli(['containers', '--json'], env)).stdout), containers, '--json is the API\'s list');

  // Per-MAC flows live at the container's own edge (transit switches forward by label).
  const webNode = containers.find((c) => c.mac === '02:00:00:00:00:01')!.node;
  const flows = await apiGet<unknown[]>(w, `/api/v1/switches/${webNode}/flows`);
  const ftext = await runCli(['flows', webNode], env);
  t.equal(ftext.status, 0);
  const flines = ftext.stdout.trimEnd().split('\n');
  t.match(flines[0], /^TABLE\s+PRIO\s+COOKIE\s+PACKETS\s+BYTES\s+MATCH\s+ACTIONS$/);
  t.equal(flines.length, flows.length + 1, 'one line per flow');
  t.ok(flines.slice(1).every((l) => /^\d+\s+\d+\s+0x5649/.test(l)), 'table, priority, our cookie');
  t.ok(flines.some((l) => /eth_dst=02:00:00:00:00:01\b/.test(l) && /(output|group):/.test(l)), 'a forwarding flow for web, readable');
  t.equal((JSON.parse((await runCli(['flows', webNode, '--json'], env)).stdout) as unknown[]).length, flows.length);
});

t.test('exit statuses: refused request 1, usage 2, unreachable 3, token 4', async (t) => {
  const w = await makeWorld('line-3.json', { apiToken: TOKEN });
  t.teardown(() => w.close());
  const unknown = await runCli(['flows', 'nope'], envOf(w));
  t.equal(unknown.status, 1);
  t.match(unknown.stderr, /unknown switch "nope" \(HTTP 404\)/);
  t.equal(unknown.stdout, '');

  const wrong = await runCli(['status'], envOf(w, 'not-it'));
  t.equal(wrong.status, 4);
  t.match(wrong.stderr, /refused the token.*--token or \$VINO_API_TOKEN/);
  t.equal((await runCli(['containers'], envOf(w, null))).status, 4, 'no token');
  t.equal((await runCli(['containers', '--token', TOKEN], { VINO_API: w.apiUrl })).status, 0, '--token instead of the environment');
  t.equal((await runCli(['events', '--count', '1'], envOf(w, 'not-it'))).status, 4, 'the event stream wants the token too');

  // A port nobody listens on: taken, then released.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const freePort = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  const gone = await runCli(['status', '--api', `127.0.0.1:${freePort}`], { VINO_API_TOKEN: TOKEN });
  t.equal(gone.status, 3);
  t.match(gone.stderr, new RegExp(`cannot reach the controller at http://127.0.0.1:${freePort}: ECONNREFUSED`));

  for (const [args, message] of [
    [['migrate', 'c1'], /missing --to NODE:PORT/],
    [['migrate', 'c1', '--to', 'h2'], /--to: expected NODE:PORT, got "h2"/],
    [['migrate', 'c1', '--to', 'h2:p', '--commit', '--prepare-only'], /exclude each other/],
    [['migrate', 'c1', '--to', 'h2:p', '--timeout', '0'], /--timeout: expected a positive number/],
    [['flows'], /missing SWITCH/],
    [['commit'], /missing ID/],
    [['status', '--bogus'], /unknown option --bogus for `status`/],
    [['status', '--api', 'ftp://x'], /--api: expected an http or https URL/],
    [['events', '--count', 'x'], /--count: expected a positive whole number/],
  ] as const) {
    // In this process (the same dispatcher the binary runs): starting node per case is slow.
    let stderr = '';
    const status = await main([...args, ...((args as readonly string[]).includes('--api') ? [] : ['--api', w.apiUrl])], { out: () => {}, err: (text) => (stderr += text) });
    t.equal(status, 2, `${args.join(' ')}: usage error`);
    t.match(stderr, message);
  }
});

t.test('migrate --prepare-only, then abort; commit of an aborted migration fails', async (t) => {
  const w = await makeWorld('two-region.json', { apiToken: TOKEN });
  t.teardown(() => w.close());
  const env = envOf(w);
  const prep = await runCli(['migrate', 'web', '--to', 'h3:c-later', '--prepare-only', '--json'], env);
  t.equal(prep.status, 0, prep.stderr);
  const m = JSON.parse(prep.stdout) as { id: string; state: string };
  t.equal(m.state, 'prepared');
  const again = await runCli(['migrate', 'web', '--to', 'h3:c-later', '--prepare-only'], env);
  t.equal(again.status, 1, 'a second migration of the same container is refused');
  t.match(again.stderr, /already in progress \(HTTP 409\)/);
  const abort = await runCli(['abort', m.id], env);
  t.equal(abort.status, 0, abort.stderr);
  t.match(abort.stdout, /abort requested/);
  t.match(abort.stdout, new RegExp(`migration ${m.id}: web aborted`));
  const commit = await runCli(['commit', m.id], env);
  t.equal(commit.status, 1);
  t.match(commit.stderr, /it was aborted: traffic goes to the old location.*\(HTTP 409\)/);
  t.equal((await runCli(['commit', 'no-such-id'], env)).status, 1);
});

t.test('migrate --commit: steps as they complete, commits once the port appears', async (t) => {
  const w = await makeWorld('two-region.json', { apiToken: TOKEN });
  t.teardown(() => w.close());
  let portAdded = false;
  const run = await runCli(['migrate', 'web', '--to', 'h3:c-web', '--commit'], envOf(w), (out) => {
    // Prepared and waiting for the port: the container "arrives" now.
    if (!portAdded && /\bprepared: bicast flows/.test(out)) {
      portAdded = true;
      w.switches.get('h3')!.addPort(fakePort(941, 'c-web'));
    }
  });
  t.equal(run.status, 0, run.stderr);
  t.ok(portAdded, 'progress was printed before the migration finished');
  const order = ['prepare requested', 'prepared', 'port seen', 'commit requested', 'committed'].map((e) => run.stdout.indexOf(`ms  ${e}`));
  t.ok(order.every((i) => i >= 0), `every step printed: ${order.join(',')}`);
  t.same([...order].sort((a, b) => a - b), order, 'in the order they happened');
  t.match(run.stdout, /ms {2}barrier confirmed: \w+ \(level \d+, \d+ messages, [\d.]+ ms\)/, 'flip stages with latency');
  t.match(run.stdout, /committed at h3:c-web; flip [\d.]+ ms \(by api\)\n$/);
  const loc = await apiGet<{ node: string; ofport: number }>(w, '/api/v1/containers/web');
  t.match(loc, { node: 'h3', ofport: 941 });
});

t.test('migrate (default) waits for the first frame at the new port; --json gives the final state', async (t) => {
  const w = await makeWorld('two-region.json', { apiToken: TOKEN });
  t.teardown(() => w.close());
  const sw = w.switches.get('h4')!;
  sw.addPort(fakePort(951, 'c-db'));
  for (let i = 0; i < 200 && !w.app.controller.sessions.get('h4')!.ports.has(951); i++) await new Promise((r) => setTimeout(r, 10));
  const mac = w.app.controller.locations.get('db')!.mac;
  let framed = false;
  const run = await runCli(['migrate', 'db', '--to', 'h4:c-db', '--json'], envOf(w), (_out, err) => {
    // Prepared, nobody commits: the container's first frame at its new port does.
    if (!framed && /\bprepared: bicast flows/.test(err)) {
      framed = true;
      const frame = Buffer.alloc(60);
      Buffer.from('ffffffffffff', 'hex').copy(frame, 0);
      Buffer.from(mac.replace(/:/g, ''), 'hex').copy(frame, 6);
      frame.writeUInt16BE(0x88b5, 12);
      sw.packetIn(951, frame);
    }
  });
  t.equal(run.status, 0, run.stderr);
  t.ok(framed, 'progress on stderr while waiting');
  t.match(run.stderr, /ms {2}first frame at the new port: auto-commit/);
  t.match(JSON.parse(run.stdout), { container: 'db', state: 'committed', committedBy: 'first-frame', to: { node: 'h4', ofport: 951 } }, 'stdout: the final state as JSON');
});

t.test('migrate --timeout gives up (1) leaving the migration prepared', async (t) => {
  const w = await makeWorld('line-3.json', { apiToken: TOKEN });
  t.teardown(() => w.close());
  const run = await runCli(['migrate', 'c1', '--to', 'h2:c-never', '--timeout', '0.5'], envOf(w));
  t.equal(run.status, 1);
  t.match(run.stderr, /gave up after 0.5 s; migration \S+ is prepared/);
  const list = await apiGet<{ state: string }[]>(w, '/api/v1/migrations');
  t.same(list.map((m) => m.state), ['prepared']);
});

t.test('events: follows the stream (--count, --json); ends with 3 when the controller goes away', async (t) => {
  const w = await makeWorld('line-3.json', { apiToken: TOKEN });
  t.teardown(() => w.close());
  const put = () => fetch(`${w.apiUrl}/api/v1/containers/c9`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ mac: '02:00:00:00:00:99', node: 'h2', ofport: 99 }) });
  let started = false;
  const json = await runCli(['events', '--json', '--count', '2'], envOf(w), (_o, err) => {
    if (!started && /following/.test(err)) {
      started = true;
      void put();
    }
  });
  t.equal(json.status, 0, json.stderr);
  const lines = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; time: string });
  t.equal(lines.length, 2);
  t.equal(lines[0]!.type, 'container-moved');
  t.ok(lines.every((e) => typeof e.time === 'string'));

  let removed = false;
  let stopped = false;
  const human = await runCli(['events'], envOf(w), (out, err) => {
    if (!removed && /following/.test(err)) {
      removed = true;
      void fetch(`${w.apiUrl}/api/v1/containers/c9`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    }
    if (!stopped && /container-moved/.test(out)) {
      stopped = true;
      void w.stopController();
    }
  });
  t.equal(human.status, 3, 'the controller stopped: 3');
  t.match(human.stderr, /the stream ended/);
  t.match(human.stdout, /^\d\d:\d\d:\d\d\.\d{3}  container-moved\s+container=c9 mac=02:00:00:00:00:99 from=\{"node":"h2","ofport":99\} to=null/m, 'events printed one a line while it lasted');
});

t.test('error text: RFC 9457 problem details first, then our {error}, then the raw body', async (t) => {
  t.equal(errorMessage(400, 'application/problem+json', JSON.stringify({ type: 'about:blank', title: 'Bad Request', status: 400, detail: 'invalid request body', errors: [{ path: 'to.switch', message: 'required' }] })), 'invalid request body (to.switch: required)');
  t.equal(errorMessage(404, 'application/problem+json', JSON.stringify({ title: 'Not Found', status: 404 })), 'Not Found');
  t.equal(errorMessage(409, 'application/json', JSON.stringify({ error: 'busy' })), 'busy');
  t.equal(errorMessage(502, 'text/html', '<h1>Bad gateway</h1>\n'), '<h1>Bad gateway</h1>');
  t.equal(errorMessage(500, 'application/json', '{not json'), '{not json');
  t.equal(errorMessage(503, null, ''), 'HTTP 503');
});
