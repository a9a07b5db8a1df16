/**
 * Provisioning (or deprovisioning) one node: read its OVSDB through one monitor, diff, apply
 * the difference in ONE transaction, then set the internal port's address with `ip` once
 * ovs-vswitchd has created the device.
 */
import { OvsdbClient } from '../../src/ovsdb/client.js';
import { OvsdbConnectionError } from '../../src/ovsdb/errors.js';
import type { TlsCredentials } from '../../src/ovsdb/transport.js';
import type { Monitor } from '../../src/ovsdb/monitor.js';
import { op } from '../../src/ovsdb/operations.js';
import { ensureAddress } from './addresses.js';
import { countChanges, diffNode, type Change, type ChangeCounts } from './diff.js';
import type { ProvisionAccess } from './node-access.js';
import type { DesiredNode, OwnerScope } from './plan.js';
import { DB, monitorState, stateFromCache, type InterfaceRow, type OvsState } from './state.js';

export interface NodeRunOptions {
  dryRun?: boolean;
  /** Timeout of each OVSDB request and of the connection, ms (default 10000). */
  ovsdbTimeoutMs?: number;
  /** How long ovs-vswitchd may take to create an internal port before we give up, ms (default 10000). */
  interfaceTimeoutMs?: number;
  /** Timeout of each command run on the node, ms (default 10000). */
  execTimeoutMs?: number;
  /** Key, certificate and CA for `ssl:` OVSDB targets. */
  ovsdbTls?: TlsCredentials;
  /**
   * How long after the first attempt a node whose OVSDB connection was lost (an ovsdb-server
   * restart) is tried again from the start, ms (default: ovsdbTimeoutMs). 0: never.
   */
  reconnectMs?: number;
}

export type NodeStatus = 'changed' | 'up-to-date' | 'would-change' | 'failed';

export interface NodeReport {
  node: string;
  status: NodeStatus;
  /** Where its OVSDB is (for messages). */
  ovsdb: string;
  changes: Change[];
  counts: ChangeCounts;
  /** Operations in the transaction (0: none was sent). */
  operations: number;
  warnings: string[];
  /** Set when status is 'failed': what went wrong, naming the node's part that failed. */
  error?: string;
  ms: number;
  /** Time spent in each stage, ms (connect, read, transact, addresses). */
  phases: Record<string, number>;
}

/** Resolves once `ready(state)` is true, re-checking on every monitor change. */
class StateWaiter {
  private waiters = new Set<() => void>();
  private failure: Error | undefined;
  notify(): void {
    for (const w of [...this.waiters]) w();
  }
  /** The monitor is gone (connection lost): every wait, present and future, fails with `err`. */
  fail(err: Error): void {
    this.failure = err;
    this.notify();
  }
  wait<T>(read: () => OvsState, check: (s: OvsState) => T | undefined, timeoutMs: number, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const tryNow = () => {
        let r: T | undefined;
        try {
          if (this.failure) throw this.failure;
          r = check(read());
        } catch (e) {
          done();
          reject(e);
          return;
        }
        if (r !== undefined) {
          done();
          resolve(r);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(onTimeout());
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(tryNow);
      };
      this.waiters.add(tryNow);
      tryNow();
    });
  }
}

/**
 * Provisions `desired` on the node (or removes every row of `scope` when `desired` is null).
 * Never throws: failures come back as a 'failed' report naming what failed.
 */
export async function runNode(
  access: ProvisionAccess,
  desired: DesiredNode | null,
  scope: OwnerScope,
  options: NodeRunOptions = {},
): Promise<NodeReport> {
  // Starting over is safe: each attempt reads what the node holds now and diffs against it,
  // so a transaction that committed before the connection dropped is not applied twice.
  const started = Date.now();
  const budget = options.reconnectMs ?? options.ovsdbTimeoutMs ?? 10_000;
  const lost: string[] = [];
  // Only a connection that worked is waited for: a node whose OVSDB never answered fails at once.
  let everConnected = false;
  for (let attempt = 1; ; attempt++) {
    const { report, connectionLost, connected } = await attemptNode(access, desired, scope, options);
    everConnected ||= connected;
    if (report.status !== 'failed' || !connectionLost || !everConnected || Date.now() - started >= budget) {
      if (lost.length > 0) report.warnings.unshift(`OVSDB connection lost ${lost.length} time(s) (${lost.join('; ')}); read again and redone after reconnecting`);
      report.ms = Date.now() - started;
      return report;
    }
    lost.push(report.error ?? 'connection lost');
    await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1000)));
  }
}

async function attemptNode(
  access: ProvisionAccess,
  desired: DesiredNode | null,
  scope: OwnerScope,
  options: NodeRunOptions,
): Promise<{ report: NodeReport; connectionLost: boolean; connected: boolean }> {
  let connectionLost = false;
  let connected = false;
  const started = Date.now();
  const ovsdb = access.openOvsdb ? (access.ovsdbLabel ?? access.ovsdbTarget) : access.ovsdbTarget;
  const report: NodeReport = {
    node: scope.node,
    status: 'up-to-date',
    ovsdb,
    changes: [],
    counts: { created: 0, updated: 0, removed: 0 },
    operations: 0,
    warnings: [],
    ms: 0,
    phases: {},
  };
  let mark = Date.now();
  const phase = (name: string) => {
    const now = Date.now();
    report.phases[name] = (report.phases[name] ?? 0) + now - mark;
    mark = now;
  };
  const timeout = options.ovsdbTimeoutMs ?? 10_000;
  const client = new OvsdbClient(access.openOvsdb ?? access.ovsdbTarget, {
    requestTimeout: timeout,
    connectTimeout: timeout,
    // One short session: a dropped connection is a failure to report, not to ride out.
    reconnect: false,
    echoInterval: 0,
    label: `${scope.node} OVSDB ${ovsdb}`,
    ...(options.ovsdbTls ? { tls: options.ovsdbTls } : {}),
  });
  client.on('error', () => undefined); // background errors surface as failed requests
  const waiter = new StateWaiter();
  client.once('close', (reason) => waiter.fail(reason));
  let stage = 'connecting to OVSDB';
  try {
    await client.connect();
    connected = true;
    phase('connect');
    stage = 'reading OVSDB';
    const monitor: Monitor = await monitorState(client, () => waiter.notify(), timeout);
    const read = () => stateFromCache(monitor.cache);
    phase('read');

    stage = 'comparing with the topology';
    const diff = diffNode(read(), desired, scope);
    // Loops, not push(...): a node with thousands of ports has thousands of changes.
    for (const c of diff.changes) report.changes.push(c);
    for (const w of diff.warnings) report.warnings.push(w);
    report.operations = diff.ops.length;
    if (diff.ops.length > 0 && !options.dryRun) {
      stage = 'applying the transaction';
      const what = desired ? 'provision' : 'deprovision';
      await client.transact(DB, [...diff.ops, op.comment(`vino-controller ${what} ${scope.owner} ${scope.node}`)]);
      phase('transact');
    }

    if (desired) {
      // A device ovs-vswitchd makes for a new interface has no address; one of the same name
      // replaced in the transaction may be kept by ovs-vswitchd (it matches by name) and is read.
      const names = (action: string) => new Set(diff.changes.filter((c) => c.kind === 'interface' && c.action === action).map((c) => c.name));
      const created = names('create');
      const removed = names('remove');
      for (const a of desired.addresses) {
        stage = `setting the address of ${a.ifname}`;
        const fresh = created.has(a.ifname) && !removed.has(a.ifname);
        if (options.dryRun) {
          const iface = findInterface(read(), a.ifname);
          if (!iface || iface.ofport === null || iface.ofport < 1) {
            // Not there yet: the transaction we did not send would create it.
            report.changes.push({ action: 'create', kind: 'address', name: `${a.ip}/${a.prefixLength}`, detail: `on ${a.ifname}, once ovs-vswitchd has created it` });
            continue;
          }
        } else {
          await waitForInterface(access, a.ifname, read, waiter, options.interfaceTimeoutMs ?? 10_000);
          phase('vswitchd');
        }
        const opts = { fresh, ...(options.dryRun ? { dryRun: true } : {}), ...(options.execTimeoutMs !== undefined ? { timeoutMs: options.execTimeoutMs } : {}) };
        for (const c of await ensureAddress(access, a, opts)) report.changes.push(c);
        phase('addresses');
      }
    }
    report.counts = countChanges(report.changes);
    report.status = report.changes.length === 0 ? 'up-to-date' : options.dryRun ? 'would-change' : 'changed';
  } catch (e) {
    report.status = 'failed';
    report.counts = countChanges(report.changes);
    report.error = `${stage}: ${(e as Error).message}`;
    connectionLost = isConnectionLoss(e) && !stage.startsWith('setting the address');
  } finally {
    // Not awaited: a busy server may be slow to finish the TCP/unix close, and nothing of
    // ours depends on it.
    void client.close().catch(() => undefined);
    report.ms = Date.now() - started;
  }
  return { report, connectionLost, connected };
}

/** A dropped or refused OVSDB connection (as when ovsdb-server restarts), not a refusal of our request. */
function isConnectionLoss(e: unknown): boolean {
  for (let err = e; err instanceof Error; err = err.cause) {
    if (err instanceof OvsdbConnectionError && err.code !== 'OVSDB_ERR_BAD_ENDPOINT') return true;
  }
  return false;
}

/** Resolves once ovs-vswitchd has made the interface (given it an OpenFlow port); rejects on its error. */
function waitForInterface(access: ProvisionAccess, ifname: string, read: () => OvsState, waiter: StateWaiter, limit: number): Promise<true> {
  return waiter.wait(
    read,
    (s) => {
      const iface = findInterface(s, ifname);
      if (!iface) throw new Error(`interface ${ifname} is not in the database`);
      if (iface.error) throw new Error(`ovs-vswitchd cannot create ${ifname}: ${iface.error}`);
      if (iface.ofport === -1) throw new Error(`ovs-vswitchd failed to create ${ifname} (ofport -1)`);
      return iface.ofport !== null && iface.ofport >= 1 ? true : undefined;
    },
    limit,
    () => new Error(`ovs-vswitchd did not create ${ifname} within ${limit} ms (is ovs-vswitchd running on ${access.node}, connected to ${access.ovsdbTarget}?)`),
  );
}

function findInterface(s: OvsState, ifname: string): InterfaceRow | undefined {
  for (const i of s.interfaces.values()) if (i.name === ifname) return i;
  return undefined;
}
