/**
 * `vino-controller provision` / `deprovision`: make (or remove) the overlay's OVS bridges,
 * VXLAN ports and controller settings on every node, through each node's OVSDB.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { TlsCredentials } from '../../src/ovsdb/transport.js';
import { parseHostPort, ovsTarget } from '../../src/topology/net.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import type { NodeProvider } from '../provision/node-access.js';
import { checkControllerTarget, type DatapathType, type PlanOptions } from '../provision/plan.js';
import { formatRunReport, runProvisioning, selectNodes, type RunMode } from '../provision/run.js';
import { EXIT_INVALID, EXIT_OK, UsageError, type Command, type CommandIO } from './command.js';
import { readTopology, reportInvalidTopology, TOPOLOGY_INPUT_OPTIONS, topologyInputHelp, topologyInputLimits } from './topology-input.js';

/** Some node failed (the others were provisioned): distinct from 1, an input that is wrong. */
export const EXIT_NODE_FAILED = 3;

const OPTIONS = () => `Options:
  --topology FILE            topology file (JSON, see schema/topology.schema.json); required
  --provider auto|netns|ssh  how nodes are reached (default auto):
                               ssh    existing machines, at each node's underlay_ip
                               netns  the running emulated testbed of this topology
                                      (vino-controller testbed up)
                               auto   ssh when every node has an underlay_ip (real
                                      machines are described), else netns when a
                                      testbed of this topology runs here; otherwise
                                      an error saying what is missing. An ssh-only
                                      option picks ssh, --state-dir picks netns
  --node NAME                only this node; repeatable (default: every node)
  --dry-run                  read every node and list what would change; change nothing
  --owner ID                 the external_ids:vino-owner value marking our rows
                             (default: the topology name)
  --json                     print the report as JSON
  -v, --verbose              list every change, not only the counts
  --timeout SEC              OVSDB connection/requests, SSH handshake, commands and the wait
                             for ovs-vswitchd to create a port (default 10)
  --parallel N               nodes worked on at the same time (default: all)
${topologyInputHelp(29)}
  -h, --help                 show this help

ssh provider:
  --known-hosts FILE         host keys to trust (default ~/.ssh/known_hosts); a node whose
                             key is unknown or different is refused
  --identity KEY             private key for nodes whose topology entry names none (default:
                             ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa); an
                             encrypted key's passphrase is read from $VINO_SSH_PASSPHRASE
  --ovsdb TARGET             where each node's OVSDB is: unix:PATH through the SSH connection
                             (default unix:/var/run/openvswitch/db.sock), tcp:PORT straight to
                             the node's address, or tcp:HOST:PORT (one node); ssl:PORT or
                             ssl:HOST:PORT likewise over TLS (needs the three options below)
  --ovsdb-key FILE           for ssl: our private key (PEM, e.g. from ovs-pki req+sign)
  --ovsdb-cert FILE          for ssl: our certificate (PEM), signed by the CA ovsdb-server's
                             --ca-cert names
  --ovsdb-ca FILE            for ssl: the CA ovsdb-server's certificate must chain to

netns provider:
  --state-dir DIR            where testbed state files live (default $TMPDIR/vino-testbed/state)
`;

const PROVISION_ONLY = `Provision options:
  --controller [tcp:|ssl:]HOST:PORT
                             controller of every bridge (default: the topology's; with netns,
                             a loopback controller is replaced by the testbed's gateway);
                             ssl: needs each switch's keys (ovs-vsctl set-ssl)
  --extra-controller TARGET  a further Controller target on every bridge (ptcp:6654 for
                             ovs-ofctl, a standby controller); repeatable
  --datapath-type TYPE       netdev (userspace) or system (kernel module); default netdev
                             with netns, system with ssh
  --no-local-ip              leave options:local_ip unset, for nodes whose underlay address
                             is not on the node itself (1:1 NAT, cloud floating addresses);
                             the default sets it with netns only
`;

function help(mode: RunMode): string {
  if (mode === 'provision') {
    return `Usage: vino-controller provision --topology FILE [--provider auto|netns|ssh] [OPTIONS]

Makes each node's OVS match the topology, through the node's OVSDB, in one transaction per
node: the bridge (datapath-id from the topology, fail_mode=secure, OpenFlow13 only, our
controller), a VXLAN port per link (key = VNI, remote_ip = the peer's underlay address,
ofport_request from the topology) and the internal port carrying the node's overlay address
(set with \`ip\` once ovs-vswitchd has made the device). Everything created carries
external_ids vino-owner and vino-node; rows without them are never changed or removed, and a
name already taken by such a row stops that node. Nodes are done in parallel; one that fails
is reported and leaves the others provisioned. A second run changes nothing ("up to date");
after an edit of the topology only the difference is applied. Container ports are not
touched: they belong to the containers' lifecycle.

${OPTIONS()}
${PROVISION_ONLY}
Exit status: 0 every node provisioned (or up to date), 1 invalid topology or provider,
2 bad command line, 3 some node failed (the report says which and why).
`;
  }
  return `Usage: vino-controller deprovision --topology FILE [--provider auto|netns|ssh] [OPTIONS]

Removes from each node exactly the rows provisioning created for this topology (bridges,
ports, interfaces, controllers whose external_ids carry our vino-owner and vino-node), in one
transaction per node; everything else stays. Removing our bridge also removes ports others
attached to it (container ports, say): the report warns about each.

${OPTIONS()}
Exit status: 0 every node cleaned (or nothing left), 1 invalid topology or provider,
2 bad command line, 3 some node failed.
`;
}

function positiveSeconds(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${option}: expected a positive number of seconds, got "${text}"`);
  return n * 1000;
}

export async function makeProvider(kind: string, topology: ResolvedTopology, values: Record<string, unknown>, timeoutMs: number | undefined): Promise<NodeProvider> {
  if (kind === 'netns') {
    for (const o of ['known-hosts', 'identity', 'ovsdb']) if (values[o] !== undefined) throw new UsageError(`--${o} is an option of the ssh provider`);
    const { netnsProviderFromState } = await import('../provision/netns.js');
    const { stateFilePath } = await import('../../testbed/state.js');
    const dir = values['state-dir'] as string | undefined;
    return netnsProviderFromState(topology.name, dir === undefined ? undefined : stateFilePath(dir, topology.name));
  }
  if (kind === 'ssh') {
    if (values['state-dir'] !== undefined) throw new UsageError('--state-dir is an option of the netns provider');
    const { SshProvider, parseOvsdbOption } = await import('../provision/ssh.js');
    const ovsdb = values.ovsdb as string | undefined;
    if (ovsdb !== undefined) {
      try {
        parseOvsdbOption(ovsdb);
      } catch (e) {
        throw new UsageError(`--ovsdb: ${(e as Error).message}`);
      }
    }
    return new SshProvider(topology, {
      ...(values['known-hosts'] !== undefined ? { knownHostsFile: values['known-hosts'] as string } : {}),
      ...(values.identity !== undefined ? { identity: values.identity as string } : {}),
      ...(ovsdb !== undefined ? { ovsdb } : {}),
      ...(values['datapath-type'] !== undefined ? { datapathType: values['datapath-type'] as DatapathType } : {}),
      ...(timeoutMs !== undefined ? { readyTimeoutMs: timeoutMs, execTimeoutMs: timeoutMs } : {}),
    });
  }
  throw new UsageError(`--provider: unknown provider "${kind}" (auto, netns or ssh)`);
}

/**
 * `--provider auto`: what the topology describes decides. Nodes with underlay addresses are
 * real machines (ssh); nodes without cannot be reached over SSH, so only a testbed of the
 * topology running here can hold them (netns). Anything else is an error naming what is
 * missing, never a run where every node fails.
 */
export async function chooseProvider(topology: ResolvedTopology, values: Record<string, unknown>, only: string[] | undefined): Promise<{ kind: 'ssh' | 'netns' } | { error: string }> {
  if (['known-hosts', 'identity', 'ovsdb'].some((o) => values[o] !== undefined)) return { kind: 'ssh' };
  if (values['state-dir'] !== undefined) return { kind: 'netns' };
  const names = only ?? Object.keys(topology.nodes);
  const withoutAddress = names.filter((n) => !topology.nodes[n]?.underlayIp);
  if (withoutAddress.length === 0) return { kind: 'ssh' };
  const { defaultStateDir, stateFilePath } = await import('../../testbed/state.js');
  const { existsSync } = await import('node:fs');
  const stateFile = stateFilePath(defaultStateDir(), topology.name);
  if (existsSync(stateFile)) return { kind: 'netns' };
  const listed = withoutAddress.length <= 5 ? withoutAddress.join(', ') : `${withoutAddress.slice(0, 5).join(', ')} and ${withoutAddress.length - 5} more`;
  return {
    error:
      `no way to reach the nodes of topology "${topology.name}": ${listed} ${withoutAddress.length === 1 ? 'has' : 'have'} no underlay_ip, ` +
      `so SSH cannot reach ${withoutAddress.length === 1 ? 'it' : 'them'}, and no testbed of this topology runs on this machine (no ${stateFile}).\n` +
      `  to emulate the nodes here: vino-controller testbed up --topology FILE, then run this again (it then uses --provider netns)\n` +
      `  for real machines: give every node an underlay_ip (its SSH address and VXLAN end point) and use --provider ssh`,
  };
}

/** --ovsdb-key/--ovsdb-cert/--ovsdb-ca: all three with an ssl: --ovsdb, none without. */
async function tlsOptions(v: Record<string, unknown>): Promise<TlsCredentials | undefined> {
  const flags = ['ovsdb-key', 'ovsdb-cert', 'ovsdb-ca'] as const;
  const given = flags.filter((f) => v[f] !== undefined);
  const ssl = typeof v.ovsdb === 'string' && v.ovsdb.startsWith('ssl:');
  if (!ssl) {
    if (given.length > 0) throw new UsageError(`--${given[0]} is for an ssl: --ovsdb target (e.g. --ovsdb ssl:6640)`);
    return undefined;
  }
  const missing = flags.filter((f) => v[f] === undefined);
  if (missing.length > 0) throw new UsageError(`--ovsdb ${String(v.ovsdb)}: TLS needs ${missing.map((f) => `--${f}`).join(', ')}`);
  const read = async (flag: string): Promise<string> => {
    const file = v[flag] as string;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`--${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!text.includes('-----BEGIN ')) throw new UsageError(`--${flag}: ${file} is not a PEM file (no -----BEGIN line)`);
    return text;
  };
  return { key: await read('ovsdb-key'), cert: await read('ovsdb-cert'), ca: await read('ovsdb-ca') };
}

function makeCommand(mode: RunMode): Command {
  return {
    name: mode,
    summary:
      mode === 'provision'
        ? "make the overlay's bridges, VXLAN ports and controller settings on every node (OVSDB)"
        : 'remove from every node exactly what provision created',
    help: help(mode),
    async run(args, io: CommandIO) {
      const { values, positionals } = parseArgs({
        args,
        options: {
          topology: { type: 'string' },
          provider: { type: 'string', default: 'auto' },
          node: { type: 'string', multiple: true },
          'dry-run': { type: 'boolean', default: false },
          owner: { type: 'string' },
          json: { type: 'boolean', default: false },
          verbose: { type: 'boolean', short: 'v', default: false },
          timeout: { type: 'string' },
          parallel: { type: 'string' },
          'known-hosts': { type: 'string' },
          identity: { type: 'string' },
          ovsdb: { type: 'string' },
          'ovsdb-key': { type: 'string' },
          'ovsdb-cert': { type: 'string' },
          'ovsdb-ca': { type: 'string' },
          'state-dir': { type: 'string' },
          ...TOPOLOGY_INPUT_OPTIONS,
          ...(mode === 'provision'
            ? {
                controller: { type: 'string' },
                'extra-controller': { type: 'string', multiple: true },
                'datapath-type': { type: 'string' },
                'no-local-ip': { type: 'boolean', default: false },
              }
            : {}),
        },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (the topology is given with --topology FILE)`);
      const file = values.topology as string | undefined;
      if (!file) throw new UsageError('missing --topology FILE');
      const timeoutMs = positiveSeconds(values.timeout as string | undefined, '--timeout');
      const parallel = values.parallel === undefined ? undefined : Number(values.parallel);
      if (parallel !== undefined && !(Number.isInteger(parallel) && parallel >= 1)) throw new UsageError(`--parallel: expected a whole number >= 1, got "${values.parallel}"`);
      const v = values as Record<string, unknown>;
      const ovsdbTls = await tlsOptions(v);

      const plan: PlanOptions = {};
      if (values.owner !== undefined) {
        if (!/^\S+$/.test(values.owner as string)) throw new UsageError('--owner: expected a non-empty word');
        plan.owner = values.owner as string;
      }
      if (mode === 'provision') {
        if (v.controller !== undefined) {
          // ssl:HOST:PORT: the bridges reach the controller over TLS (their own set-ssl keys).
          const m = /^(tcp|ssl):(.*)$/.exec(v.controller as string);
          const hp = parseHostPort(m ? m[2]! : (v.controller as string));
          if (!hp.ok) throw new UsageError(`--controller: ${hp.message}`);
          plan.controllerTarget = m?.[1] === 'ssl' ? ovsTarget(hp.value).replace(/^tcp:/, 'ssl:') : ovsTarget(hp.value);
        }
        const extra = (v['extra-controller'] as string[] | undefined) ?? [];
        try {
          plan.extraControllerTargets = extra.map(checkControllerTarget);
        } catch (e) {
          throw new UsageError(`--extra-controller: ${(e as Error).message}`);
        }
        const dt = v['datapath-type'] as string | undefined;
        if (dt !== undefined && dt !== 'netdev' && dt !== 'system') throw new UsageError(`--datapath-type: expected netdev or system, got "${dt}"`);
        if (dt !== undefined) plan.defaultDatapathType = dt;
        if (v['no-local-ip']) plan.setLocalIp = false;
      }

      const limits = topologyInputLimits(values);
      const analysis = await readTopology(file, limits);
      const { topology } = analysis;
      if (!topology) {
        reportInvalidTopology(io, `vino-controller ${mode}`, file, analysis, limits.maxProblems);
        return EXIT_INVALID;
      }
      try {
        selectNodes(topology, values.node as string[] | undefined);
      } catch (e) {
        throw new UsageError(`--node: ${(e as Error).message}`);
      }

      let providerKind = values.provider as string;
      if (providerKind === 'auto') {
        const chosen = await chooseProvider(topology, v, values.node as string[] | undefined);
        if ('error' in chosen) {
          io.err(`vino-controller ${mode}: ${chosen.error.replaceAll('FILE', file)}\n`);
          return EXIT_INVALID;
        }
        providerKind = chosen.kind;
      }
      let provider: NodeProvider;
      try {
        provider = await makeProvider(providerKind, topology, v, timeoutMs);
      } catch (e) {
        if (e instanceof UsageError) throw e;
        io.err(`vino-controller ${mode}: ${(e as Error).message}\n`);
        return EXIT_INVALID;
      }
      try {
        const report = await runProvisioning(topology, provider, {
          mode,
          dryRun: values['dry-run'] as boolean,
          ...(values.node ? { nodes: values.node as string[] } : {}),
          ...(parallel !== undefined ? { concurrency: parallel } : {}),
          plan,
          ...(timeoutMs !== undefined ? { ovsdbTimeoutMs: timeoutMs, interfaceTimeoutMs: timeoutMs, execTimeoutMs: timeoutMs } : {}),
          ...(ovsdbTls ? { ovsdbTls } : {}),
        });
        if (values.json) io.out(JSON.stringify(report, null, 2) + '\n');
        else io.out(formatRunReport(report, { verbose: values.verbose as boolean }));
        return report.ok ? EXIT_OK : EXIT_NODE_FAILED;
      } finally {
        await provider.close();
      }
    },
  };
}

export const provisionCommand: Command = makeCommand('provision');
export const deprovisionCommand: Command = makeCommand('deprovision');
