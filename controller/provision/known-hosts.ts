/**
 * OpenSSH known_hosts checking (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), strict: a host must be
 * listed with the very key it presents. Supports plain and hashed (|1|salt|hash) host fields,
 * `[host]:port` for ports other than 22, the `*` / `?` wildcards, `!` negation and @revoked.
 * @cert-authority lines are skipped (host certificates are not supported), so a host known only
 * through a CA is reported as unknown.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export interface KnownHostEntry {
  /** 1-based line number in the file. */
  line: number;
  marker: 'revoked' | 'cert-authority' | null;
  /** Comma-separated patterns, or one hashed entry. */
  hosts: string;
  keyType: string;
  key: Buffer;
}

export interface KnownHosts {
  file: string;
  entries: KnownHostEntry[];
}

export function parseKnownHosts(text: string, file = 'known_hosts'): KnownHosts {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'] = null;
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return; // unknown marker: OpenSSH ignores the line too
    }
    if (fields.length < 3) return;
    const [hosts, keyType, b64] = fields as [string, string, string];
    const key = Buffer.from(b64, 'base64');
    if (key.length === 0) return;
    entries.push({ line: i + 1, marker, hosts, keyType, key });
  });
  return { file, entries };
}

export async function loadKnownHosts(file: string): Promise<KnownHosts> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot read known_hosts file ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  return parseKnownHosts(text, file);
}

/** The name a host is looked up under: `host`, or `[host]:port` when the port is not 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

function hostFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const p of hosts.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false; // a negated match overrides everything
    } else if (globMatch(p, name)) matched = true;
  }
  return matched;
}

/** The key type named inside an SSH public key blob (its first string). */
export function keyBlobType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return n > 0 && n < 64 && blob.length >= 4 + n ? blob.subarray(4, 4 + n).toString('latin1') : 'unknown';
}

/** OpenSSH's fingerprint form: `SHA256:` and unpadded base64 of the blob's SHA-256. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export type HostKeyVerdict =
  | { ok: true; entry: KnownHostEntry }
  | { ok: false; reason: 'unknown' | 'mismatch' | 'revoked'; message: string };

/** Decides whether `blob` is the key known for `host`:`port`. */
export function checkHostKey(known: KnownHosts, host: string, port: number, blob: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const type = keyBlobType(blob);
  const fp = fingerprint(blob);
  const presented = `${type} key ${fp}`;
  const revoked = known.entries.find((e) => e.marker === 'revoked' && e.key.equals(blob));
  if (revoked) {
    return { ok: false, reason: 'revoked', message: `host ${name} presented ${presented}, which ${known.file}:${revoked.line} marks @revoked; refusing to connect` };
  }
  const listed = known.entries.filter((e) => e.marker === null && hostFieldMatches(e.hosts, name));
  const same = listed.find((e) => e.key.equals(blob));
  if (same) return { ok: true, entry: same };
  if (listed.length === 0) {
    return {
      ok: false,
      reason: 'unknown',
      message: `host ${name} is not in ${known.file}; it presented ${presented}. If that is the right key, add it (e.g. \`ssh-keyscan -p ${port} ${host} >> ${known.file}\`, then compare the fingerprint out of band)`,
    };
  }
  const sameType = listed.filter((e) => e.keyType === type);
  const where = (sameType.length > 0 ? sameType : listed).map((e) => `${e.keyType} ${fingerprint(e.key)} (${known.file}:${e.line})`).join(', ');
  return {
    ok: false,
    reason: 'mismatch',
    message: `HOST KEY MISMATCH for ${name}: it presented ${presented}, but ${known.file} has ${where}. Someone may be intercepting the connection, or the host was reinstalled; refusing to connect`,
  };
}

/**
 * Host key algorithms to offer, those of the keys we know for the host first (as OpenSSH does),
 * so a host with several keys presents one we can check.
 */
export function preferredHostKeyAlgorithms(known: KnownHosts, host: string, port: number, supported: readonly string[]): string[] {
  const name = knownHostsName(host, port);
  const types = new Set(known.entries.filter((e) => e.marker === null && hostFieldMatches(e.hosts, name)).map((e) => e.keyType));
  const algsOf = (t: string) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]);
  const first = [...types].flatMap(algsOf).filter((a) => supported.includes(a));
  return [...new Set([...first, ...supported])];
}
