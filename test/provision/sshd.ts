// A throw-away OpenSSH server on 127.0.0.1 for one test: its own host key, a user key allowed
// to log in as the current user, everything in a temp dir, killed in t.teardown.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TeardownHost } from '../ovsdb/fixture.js';
import { spawnWatched, type WatchedChild } from '../util/child.js';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';
// sshd's compiled-in privilege separation directory (Debian's service creates it at boot).
const PRIVSEP_DIR = '/run/sshd';

export interface SshdFixture {
  dir: string;
  port: number;
  user: string;
  /** Private key file of the user allowed in. */
  userKey: string;
  /** Public host key line (`ssh-ed25519 AAAA...`). */
  hostKeyLine: string;
  /** `ssh-keygen -l` fingerprint of the host key (`SHA256:...`). */
  hostFingerprint: string;
  /** Writes a known_hosts file with the given lines and returns its path. */
  knownHosts(name: string, lines: string[]): Promise<string>;
  log(): string;
}

async function keygen(file: string, type = 'ed25519'): Promise<void> {
  await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'vino-test', '-f', file]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startSshd(t: TeardownHost): Promise<SshdFixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `vino-sshd-${process.pid}-${Math.random().toString(36).slice(2, 8)}-`));
  let sshd: WatchedChild | undefined;
  let madePrivsep = false;
  t.teardown(async () => {
    if (sshd?.running()) {
      sshd.process.kill('SIGTERM');
      await sshd.exited;
    }
    await rm(dir, { recursive: true, force: true });
    if (madePrivsep) await rmdir(PRIVSEP_DIR).catch(() => undefined);
  });
  if (!existsSync(PRIVSEP_DIR)) {
    await mkdir(PRIVSEP_DIR, { mode: 0o755 });
    madePrivsep = true;
  }
  const hostKey = path.join(dir, 'host_ed25519');
  const userKey = path.join(dir, 'user_ed25519');
  await Promise.all([keygen(hostKey), keygen(userKey)]);
  await writeFile(path.join(dir, 'authorized_keys'), await readFile(`${userKey}.pub`));
  const hostKeyLine = (await readFile(`${hostKey}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
  const { stdout: fp } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`]);
  const hostFingerprint = fp.split(' ')[1]!;
  const user = os.userInfo().username;

  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'sshd_config');
    await writeFile(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        'PidFile none',
        'UsePAM no',
        `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'AllowStreamLocalForwarding yes',
        'AllowTcpForwarding yes',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    const s = spawnWatched(SSHD, ['-D', '-e', '-f', config]);
    sshd = s;
    const deadline = Date.now() + 10_000;
    while (!/Server listening on/.test(s.stderr()) && s.process.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (/Server listening on/.test(s.stderr())) {
      return {
        dir,
        port,
        user,
        userKey,
        hostKeyLine,
        hostFingerprint,
        async knownHosts(name, lines) {
          const file = path.join(dir, name);
          await writeFile(file, lines.map((l) => `${l}\n`).join(''));
          return file;
        },
        log: () => s.stderr(),
      };
    }
    s.process.kill('SIGKILL');
    await s.exited;
    // Someone took the port between our probe and sshd's bind: try another.
    if (attempt >= 3 || !/Address already in use/.test(s.stderr())) throw new Error(`sshd did not start:\n${s.stderr()}`);
  }
}

export { keygen };
