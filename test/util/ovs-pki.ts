// Certificates made with Debian's `ovs-pki` in a temp dir (removed in t.teardown): the same
// PKI an operator would make for OVS, so the tests exercise what real deployments use.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const OVS_PKI = '/usr/bin/ovs-pki';

export interface TeardownHost {
  teardown(fn: () => unknown): void;
}

/** One signed identity: file paths (for OVS's flags) and their PEM text (for Node's tls). */
export interface PkiIdentity {
  keyFile: string;
  certFile: string;
  key: string;
  cert: string;
}

export interface Pki {
  dir: string;
  /** The CA that signs switch certificates (controllers trust it). */
  switchCaFile: string;
  switchCa: string;
  /** The CA that signs controller certificates (switches trust it). */
  controllerCaFile: string;
  controllerCa: string;
  /** `ovs-pki req+sign NAME TYPE`: a new key and certificate signed by this PKI's TYPE CA. */
  identity(name: string, type: 'switch' | 'controller'): Promise<PkiIdentity>;
}

/** `ovs-pki init` in a fresh temp dir: the two CAs of an OVS PKI. */
export async function makePki(t: TeardownHost, label = 'pki'): Promise<Pki> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `vino-${label}-${process.pid}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pkiDir = path.join(dir, 'pki');
  const common = [`--dir=${pkiDir}`, `--log=${path.join(dir, 'ovs-pki.log')}`];
  await run(OVS_PKI, [...common, 'init'], { cwd: dir });
  const switchCaFile = path.join(pkiDir, 'switchca', 'cacert.pem');
  const controllerCaFile = path.join(pkiDir, 'controllerca', 'cacert.pem');
  return {
    dir,
    switchCaFile,
    controllerCaFile,
    switchCa: await readFile(switchCaFile, 'utf8'),
    controllerCa: await readFile(controllerCaFile, 'utf8'),
    async identity(name, type) {
      if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`ovs-pki identity name must be [a-z0-9-]+, got "${name}"`);
      await run(OVS_PKI, [...common, '--force', 'req+sign', name, type], { cwd: dir });
      const keyFile = path.join(dir, `${name}-privkey.pem`);
      const certFile = path.join(dir, `${name}-cert.pem`);
      return { keyFile, certFile, key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8') };
    },
  };
}
