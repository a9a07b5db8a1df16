// The probe service of the migration bench (testbed/workload/probe-server.ts), on loopback: HTTP,
// UDP echo and TCP echo, each in a process of its own by default, the helpers going with it.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { probeProgram } from '../../testbed/workload/overlay.js';
import { freePort } from '../../testbed/workload/processes.js';
import { isAlive } from '../../testbed/proc.js';

/** Pids of `pid`'s children (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function start(t: { teardown: (fn: () => void) => void }, extra: string[] = []) {
  const ports = { http: await freePort(), udp: await freePort(), tcp: await freePort() };
  const child = spawn(process.execPath, [probeProgram('probe-server'), '--name', 'p', '--http-port', String(ports.http), '--udp-port', String(ports.udp), '--tcp-port', String(ports.tcp), ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    child.once('exit', (code) => reject(new Error(`probe-server exited ${code}`)));
  });
  return { child, ports, ready };
}

async function answers(ports: { http: number; udp: number; tcp: number }) {
  const http = await (await fetch(`http://127.0.0.1:${ports.http}/x`)).text();
  const udp = await new Promise<string>((resolve) => {
    const s = createSocket('udp4');
    s.on('message', (m) => {
      s.close();
      resolve(m.toString());
    });
    s.send('ping', ports.udp, '127.0.0.1');
  });
  const tcp = await new Promise<string>((resolve) => {
    const s = connect(ports.tcp, '127.0.0.1', () => s.write('echo me'));
    s.on('data', (d) => {
      s.destroy();
      resolve(d.toString());
    });
  });
  return { http, udp, tcp };
}

t.test('three services, a process each; the helpers go when the server is killed', async (t) => {
  const { child, ports, ready } = await start(t);
  t.equal(ready.processes, 3);
  const helpers = childrenOf(child.pid!);
  t.equal(helpers.length, 2, 'the UDP and TCP echoes run in child processes');
  t.same(await answers(ports), { http: `p ${child.pid} /x\n`, udp: 'ping', tcp: 'echo me' });
  child.kill('SIGKILL');
  const deadline = Date.now() + 5000;
  while (helpers.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.same(helpers.filter(isAlive), [], 'no helper outlives the server');
});

t.test('--one-process: all three in one', async (t) => {
  const { child, ports, ready } = await start(t, ['--one-process']);
  t.equal(ready.processes, 1);
  t.same(childrenOf(child.pid!), []);
  t.same(await answers(ports), { http: `p ${child.pid} /x\n`, udp: 'ping', tcp: 'echo me' });
});

t.test('a port in use: the server says which service could not listen and exits, leaving nothing behind', async (t) => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '0.0.0.0', () => r()));
  t.teardown(() => busy.close());
  const port = (busy.address() as { port: number }).port;
  const child: ChildProcess = spawn(process.execPath, [probeProgram('probe-server'), '--http-port', String(await freePort()), '--udp-port', String(await freePort()), '--tcp-port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  t.equal(code, 1);
  t.match(err, /cannot listen: the tcp service exited/);
});
