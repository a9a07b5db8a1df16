/**
 * The `ssh` node provider: existing machines reached with ssh2. Key authentication only;
 * host keys are checked against a known_hosts file and a node whose key is unknown or
 * different is refused (that node only, with the host and the presented fingerprint in the
 * error). The node's OVSDB is reached through the same SSH connection to its unix socket
 * (OpenSSH streamlocal forwarding), or over plain TCP when asked; `exec` runs commands over
 * SSH.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { parseEndpoint } from '../../src/ovsdb/transport.js';
import { checkHostKey, loadKnownHosts, preferredHostKeyAlgorithms, type KnownHosts } from './known-hosts.js';
import { NodeExecError, shellQuote, type ExecResult, type NodeProvider, type ProvisionAccess } from './node-access.js';

export const DEFAULT_OVSDB_SOCKET = '/var/run/openvswitch/db.sock';
/** Host key algorithms ssh2 implements (its defaults), in its order of preference. */
const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

export interface SshNodeAddress {
  host: string;
  port: number;
  user: string;
  /** Private key file for this node (null: the provider's identity, agent, or default keys). */
  key: string | null;
}

export interface SshProviderOptions {
  /** known_hosts file (default ~/.ssh/known_hosts). */
  knownHostsFile?: string;
  /** Private key file for nodes whose topology entry names none. */
  identity?: string;
  /** Passphrase of encrypted private keys (default $VINO_SSH_PASSPHRASE). */
  passphrase?: string;
  /**
   * Where each node's OVSDB is: `unix:PATH` (default unix:/var/run/openvswitch/db.sock) through
   * the SSH connection; `tcp:PORT` straight to the node's address (ovsdb-server started with
   * --remote=ptcp:PORT; no encryption, for trusted underlays); `tcp:HOST:PORT` straight to
   * HOST (a single node, or a test).
   */
  ovsdb?: string;
  /** Per-node overrides of the address, port, user and key from the topology. */
  addresses?: Record<string, Partial<SshNodeAddress>>;
  /** Datapath type (default 'system': real machines normally have the OVS kernel module). */
  datapathType?: 'netdev' | 'system';
  /** SSH handshake + authentication timeout, ms (default 10000). */
  readyTimeoutMs?: number;
  /** Default timeout of commands, ms (default 10000). */
  execTimeoutMs?: number;
}

export { shellQuote };

interface Auth {
  privateKey?: Buffer;
  passphrase?: string;
  agent?: string;
  /** For error messages. */
  what: string;
}

function readKey(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot read private key ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}

function chooseAuth(keyFile: string | null, passphrase: string | undefined): Auth {
  const withPass = (a: Auth): Auth => (passphrase === undefined ? a : { ...a, passphrase });
  if (keyFile) return withPass({ privateKey: readKey(keyFile), what: `key ${keyFile}` });
  const agent = process.env.SSH_AUTH_SOCK;
  if (agent) return { agent, what: `ssh-agent at ${agent}` };
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const f = join(homedir(), '.ssh', name);
    if (existsSync(f)) return withPass({ privateKey: readKey(f), what: `key ${f}` });
  }
  throw new Error('no SSH key: give --identity KEY (or ssh.key in the topology), or run an ssh-agent');
}

/** One SSH connection to a node, once authenticated. */
export class SshConnection {
  private constructor(
    readonly label: string,
    private readonly client: Client,
    private readonly execTimeoutMs: number,
  ) {}

  /**
   * Connects and authenticates; rejects with the known_hosts verdict when the host key is not
   * the one known for the host (nothing is sent to such a host beyond the key exchange).
   */
  static connect(addr: SshNodeAddress, known: KnownHosts, auth: Auth, options: { readyTimeoutMs?: number; execTimeoutMs?: number } = {}): Promise<SshConnection> {
    const label = `${addr.user}@${addr.host}:${addr.port}`;
    const client = new Client();
    let refused: string | undefined;
    const config: ConnectConfig = {
      host: addr.host,
      port: addr.port,
      username: addr.user,
      readyTimeout: options.readyTimeoutMs ?? 10_000,
      keepaliveInterval: 15_000,
      algorithms: { serverHostKey: preferredHostKeyAlgorithms(known, addr.host, addr.port, HOST_KEY_ALGORITHMS) as never },
      hostVerifier: (key: Buffer) => {
        const verdict = checkHostKey(known, addr.host, addr.port, key);
        if (!verdict.ok) refused = verdict.message;
        return verdict.ok;
      },
      ...(auth.privateKey ? { privateKey: auth.privateKey } : {}),
      ...(auth.passphrase !== undefined ? { passphrase: auth.passphrase } : {}),
      ...(auth.agent ? { agent: auth.agent } : {}),
    };
    return new Promise<SshConnection>((resolve, reject) => {
      let settled = false;
      const fail = (e: Error & { level?: string }) => {
        if (settled) return;
        settled = true;
        client.end();
        if (refused) return reject(new Error(refused));
        if (e.level === 'client-authentication') return reject(new Error(`${label}: authentication with ${auth.what} refused (is its public key in the node's authorized_keys?)`));
        if (e.level === 'client-timeout') return reject(new Error(`${label}: no SSH handshake within ${config.readyTimeout} ms`));
        reject(new Error(`${label}: ${e.message}`));
      };
      client.once('ready', () => {
        settled = true;
        client.on('error', () => undefined); // later errors surface on the channels
        resolve(new SshConnection(label, client, options.execTimeoutMs ?? 10_000));
      });
      client.on('error', fail);
      client.once('close', () => fail(new Error('connection closed during the handshake')));
      try {
        client.connect(config);
      } catch (e) {
        fail(e as Error);
      }
    });
  }

  /** A stream to a unix socket on the node (direct-streamlocal@openssh.com). */
  openUnixSocket(path: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      this.client.openssh_forwardOutStreamLocal(path, (err, stream) => {
        if (err) reject(new Error(`${this.label}: cannot open unix socket ${path} on the node: ${err.message}`));
        else resolve(stream);
      });
    });
  }

  /** Runs argv on the node (quoted for its shell); rejects unless it exits 0. */
  exec(node: string, argv: string[], timeoutMs = this.execTimeoutMs): Promise<ExecResult> {
    const command = argv.map(shellQuote).join(' ');
    return new Promise<ExecResult>((resolve, reject) => {
      this.client.exec(command, (err, channel: ClientChannel) => {
        if (err) return reject(new NodeExecError(node, argv, null, '', `${node}: cannot run \`${command}\` over SSH (${this.label}): ${err.message}`));
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let done = false;
        const timer = setTimeout(() => {
          if (done) return;
          done = true;
          channel.close();
          reject(new NodeExecError(node, argv, 'timeout', Buffer.concat(errOut).toString('utf8'), `${node}: \`${command}\` did not finish within ${timeoutMs} ms`));
        }, timeoutMs);
        // Nothing to feed: EOF at once, so a command that reads stdin does not wait for it.
        channel.end();
        channel.on('data', (d: Buffer) => out.push(d));
        channel.stderr.on('data', (d: Buffer) => errOut.push(d));
        channel.on('close', (code: number | null, signal?: string) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          const stdout = Buffer.concat(out).toString('utf8');
          const stderr = Buffer.concat(errOut).toString('utf8');
          if (code === 0) resolve({ stdout, stderr });
          else reject(new NodeExecError(node, argv, code ?? signal ?? null, stderr));
        });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.client.once('close', () => resolve());
      this.client.end();
      // end() on a connection that is already gone emits nothing.
      setTimeout(resolve, 1000).unref();
    });
  }
}

type OvsdbVia = { kind: 'ssh-unix'; path: string } | { kind: 'tcp' | 'ssl'; host: string | null; port: number };

export function parseOvsdbOption(text: string): OvsdbVia {
  if (/^(tcp|ssl):\d+$/.test(text)) {
    const port = Number(text.slice(4));
    if (port < 1 || port > 65535) throw new Error(`bad OVSDB target ${JSON.stringify(text)}: port out of range`);
    return { kind: text.startsWith('ssl') ? 'ssl' : 'tcp', host: null, port };
  }
  const ep = parseEndpoint(text);
  return ep.kind === 'unix' ? { kind: 'ssh-unix', path: ep.path } : { kind: ep.kind, host: ep.host, port: ep.port };
}

export function formatTcp(host: string, port: number, scheme: 'tcp' | 'ssl' = 'tcp'): string {
  return host.includes(':') ? `${scheme}:[${host}]:${port}` : `${scheme}:${host}:${port}`;
}

export class SshProvider implements NodeProvider {
  readonly name = 'ssh';
  readonly defaultDatapathType: 'netdev' | 'system';
  /** Cloud machines are often behind 1:1 NAT: let each pick its own tunnel source address. */
  readonly underlayIsLocal = false;
  private readonly via: OvsdbVia;
  private knownP: Promise<KnownHosts> | undefined;
  private readonly open_ = new Set<SshConnection>();

  constructor(
    private readonly topology: ResolvedTopology,
    private readonly options: SshProviderOptions = {},
  ) {
    this.defaultDatapathType = options.datapathType ?? 'system';
    this.via = parseOvsdbOption(options.ovsdb ?? `unix:${DEFAULT_OVSDB_SOCKET}`);
  }

  address(node: string): SshNodeAddress {
    const n = this.topology.nodes[node];
    if (!n) throw new Error(`node "${node}" is not in topology "${this.topology.name}"`);
    const o = this.options.addresses?.[node] ?? {};
    const host = o.host ?? n.underlayIp;
    if (!host) throw new Error(`no address to reach node "${node}" over SSH: give it underlay_ip in the topology`);
    return { host, port: o.port ?? n.ssh.port, user: o.user ?? n.ssh.user, key: o.key ?? n.ssh.key };
  }

  underlayIp(node: string): string | null {
    return this.topology.nodes[node]?.underlayIp ?? null;
  }

  private knownHosts(): Promise<KnownHosts> {
    this.knownP ??= loadKnownHosts(this.options.knownHostsFile ?? join(homedir(), '.ssh', 'known_hosts'));
    return this.knownP;
  }

  async open(node: string): Promise<ProvisionAccess> {
    const addr = this.address(node);
    const auth = chooseAuth(addr.key ?? this.options.identity ?? null, this.options.passphrase ?? process.env.VINO_SSH_PASSPHRASE);
    const conn = await SshConnection.connect(addr, await this.knownHosts(), auth, this.options);
    this.open_.add(conn);
    const via = this.via;
    const access: ProvisionAccess = {
      node,
      underlayIp: this.underlayIp(node) ?? addr.host,
      ovsdbTarget: via.kind === 'ssh-unix' ? `unix:${via.path}` : formatTcp(via.host ?? addr.host, via.port, via.kind),
      ovsEnv: {},
      exec: (argv, opts) => conn.exec(node, argv, opts?.timeoutMs),
      close: async () => {
        this.open_.delete(conn);
        await conn.close();
      },
    };
    if (via.kind === 'ssh-unix') {
      access.openOvsdb = () => conn.openUnixSocket(via.path);
      access.ovsdbLabel = `unix:${via.path} via ssh ${conn.label}`;
    }
    return access;
  }

  async close(): Promise<void> {
    await Promise.all([...this.open_].map((c) => c.close()));
    this.open_.clear();
  }
}
