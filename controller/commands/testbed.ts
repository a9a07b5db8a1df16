/** `vino-controller testbed up|down|status`: the embedded emulated testbed on this machine. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cleanupStale, loadRecord } from '../../testbed/cleanup.js';
import { defaultStateDir, makeState, readState, removeState, stateFilePath, writeState } from '../../testbed/state.js';
import { downRun, runStatus, Testbed } from '../../testbed/testbed.js';
import type { TestbedStatus } from '../../testbed/types.js';
import { netnsExists } from '../../testbed/proc.js';
import { RUN_ID_PATTERN } from '../../testbed/names.js';
import { ovsEnvFor } from '../../testbed/ovs.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { EXIT_INVALID, EXIT_OK, UsageError, type Command, type CommandIO } from './command.js';
import { readTopology, reportInvalidTopology, TOPOLOGY_INPUT_OPTIONS, topologyInputHelp, topologyInputLimits, type TopologyInputLimits } from './topology-input.js';

const HELP = () => `Usage: vino-controller testbed up|down|status [OPTIONS]

Emulates the nodes of a topology on this machine (root, Open vSwitch installed; no kernel
module needed): every node is a network namespace running its own ovsdb-server and
ovs-vswitchd (userspace datapath), the nodes share an emulated underlay network, and each
node's underlay address sits on an OVS bridge "br-phy" (a VXLAN tunnel end point). The
overlay bridges and tunnels are not made here: provisioning makes them.

  up      --topology FILE   brings the nodes up, prints where everything is and writes the
                            state file (DIR/<topology name>.json); the nodes keep running
                            after the command returns
  down    --topology FILE   removes the testbed the state file names (processes, namespaces,
                            links, folders)
  down    --all             removes every testbed left over by earlier runs on this machine
                            (those whose owning program no longer runs, and those made by
                            "up"); testbeds of running programs are left alone
  down    --run ID          the same for one run id (vtXXXX), e.g. when its state file is lost
  status  --topology FILE   checks every node: namespace, daemons, OVSDB and vswitchd sockets

Options:
  --topology FILE    topology file (JSON, see schema/topology.schema.json)
  --state-dir DIR    where state files live (default: $TMPDIR/vino-testbed/state)
  --underlay CIDR    underlay subnet for up (default: a free 10.250.X.0/24)
  --no-gateway       up: give the root namespace no underlay address (switches then cannot
                     reach a controller on this machine)
  --json             up, status: print JSON instead of text
  --all, --run ID    down: see above
${topologyInputHelp(21)}
  -h, --help         show this help

With the gateway (the default) the root namespace gets the underlay's first address on a
veth named <run>-gw, and controller addresses on loopback in the topology are replaced by it
in the state file's topology: a controller listening on 0.0.0.0 is then reachable.

Exit status: 0 success (status: every node healthy), 1 invalid topology, no such testbed,
unhealthy testbed or a failure, 2 bad command line.
`;

async function loadTopologyOrReport(file: string, limits: TopologyInputLimits, io: CommandIO): Promise<ResolvedTopology | null> {
  const analysis = await readTopology(file, limits);
  if (!analysis.topology) reportInvalidTopology(io, 'vino-controller testbed', file, analysis, limits.maxProblems);
  return analysis.topology;
}

function summary(bed: Testbed, stateFile: string): string {
  const r = bed.toRecord();
  const lines = [
    `testbed ${r.runId} up for topology "${r.topologyName}"`,
    `  underlay ${r.underlay.cidr}${r.underlay.gateway ? `, gateway ${r.underlay.gateway} on ${r.runId}-gw (root namespace)` : ', no gateway'}`,
    `  controller target in the state's topology: ${bed.topology.controller.target}`,
    `  folder ${r.runDir}`,
    `  state ${stateFile}`,
    '',
  ];
  // A loop, not Math.max(...names): spreading a large array into arguments overflows the stack.
  const width = Object.keys(r.nodes).reduce((w, n) => Math.max(w, n.length), 4);
  lines.push(`  ${'node'.padEnd(width)}  underlay         namespace / OVSDB`);
  for (const n of Object.values(r.nodes)) {
    lines.push(`  ${n.name.padEnd(width)}  ${n.underlayIp.padEnd(15)}  ${n.namespace}  ${n.ovsdbTarget}`);
  }
  const first = Object.values(r.nodes)[0]!;
  const env = ovsEnvFor(first.dir);
  lines.push(
    '',
    `  run on a node:   ip netns exec ${first.namespace} COMMAND`,
    `  OVS of a node:   OVS_RUNDIR=${env['OVS_RUNDIR']} ovs-vsctl show`,
    `  remove it:       vino-controller testbed down --topology FILE`,
    '',
  );
  return lines.join('\n');
}

function formatStatus(s: TestbedStatus): string {
  const lines = [`testbed ${s.runId}: ${s.healthy ? 'healthy' : 'NOT healthy'} (${s.runDir})`];
  for (const n of s.nodes) {
    const daemons = `ovsdb-server ${n.ovsdbServer.alive ? n.ovsdbServer.pid : 'down'}, ovs-vswitchd ${n.vswitchd.alive ? n.vswitchd.pid : 'down'}`;
    lines.push(`  ${n.node}: ${n.namespace} ${n.underlayIp}: ${daemons}: ${n.problem ?? 'ok'}`);
  }
  for (const c of s.containers) {
    lines.push(`  container ${c.name}: ${c.namespace} on ${c.node} port ${c.portName}: ${c.namespaceExists ? `${c.pids.length} processes` : 'namespace missing'}`);
  }
  return lines.join('\n') + '\n';
}

export const testbedCommand: Command = {
  name: 'testbed',
  summary: 'bring an emulated testbed (namespaces + Open vSwitch) up or down on this machine',
  help: HELP(),
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        topology: { type: 'string' },
        'state-dir': { type: 'string' },
        underlay: { type: 'string' },
        'no-gateway': { type: 'boolean', default: false },
        all: { type: 'boolean', default: false },
        run: { type: 'string' },
        json: { type: 'boolean', default: false },
        ...TOPOLOGY_INPUT_OPTIONS,
      },
      allowPositionals: true,
      strict: true,
    });
    const [action, ...extra] = positionals;
    if (!action) throw new UsageError('missing action: up, down or status');
    if (!['up', 'down', 'status'].includes(action)) throw new UsageError(`unknown action "${action}" (up, down or status)`);
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const stateDir = path.resolve(values['state-dir'] ?? defaultStateDir());
    if (action !== 'up' && (values.underlay !== undefined || values['no-gateway'])) throw new UsageError('--underlay and --no-gateway are options of up');
    if ((values.all || values.run !== undefined) && action !== 'down') throw new UsageError('--all and --run are options of down');

    if (action === 'down' && (values.all || values.run !== undefined)) {
      if ([values.all, values.run !== undefined, values.topology !== undefined].filter(Boolean).length > 1) {
        throw new UsageError('--all, --run and --topology exclude each other');
      }
      if (values.run !== undefined && !RUN_ID_PATTERN.test(values.run)) throw new UsageError(`--run: "${values.run}" is not a run id (vt and 4 hex digits)`);
      const r = await cleanupStale({ log: (m) => io.err(`${m}\n`), ...(values.run ? { runIds: [values.run] } : {}) });
      // State files whose run is gone are stale too.
      for (const f of safeReaddir(stateDir).filter((f) => f.endsWith('.json'))) {
        try {
          const s = readState(path.join(stateDir, f));
          if (s && !netnsExists(s.record.underlay.namespace)) removeState(path.join(stateDir, f));
        } catch {
          // not ours: leave it
        }
      }
      io.out(`removed ${r.removed.length} stale testbed${r.removed.length === 1 ? '' : 's'}${r.removed.length ? `: ${r.removed.join(', ')}` : ''}\n`);
      for (const s of r.skipped) io.out(`left ${s.runId} alone: its owner, process ${s.ownerPid}, is running\n`);
      for (const e of r.errors) io.err(`${e}\n`);
      return r.errors.length ? EXIT_INVALID : EXIT_OK;
    }

    if (!values.topology) throw new UsageError(action === 'down' ? 'missing --topology FILE (or --all, --run ID)' : 'missing --topology FILE');
    const topology = await loadTopologyOrReport(values.topology, topologyInputLimits(values), io);
    if (!topology) return EXIT_INVALID;
    const stateFile = stateFilePath(stateDir, topology.name);
    let state;
    try {
      state = readState(stateFile);
    } catch (e) {
      io.err(`vino-controller testbed: ${(e as Error).message}\n`);
      return EXIT_INVALID;
    }

    if (action === 'up') {
      if (state) {
        if (netnsExists(state.record.underlay.namespace)) {
          io.err(`vino-controller testbed: a testbed for topology "${topology.name}" is already up (run ${state.runId}, state ${stateFile}); take it down first\n`);
          return EXIT_INVALID;
        }
        // What is left of a testbed that is gone (e.g. after a reboot): clean up, start afresh.
        await downRun(state.record).catch(() => {});
        removeState(stateFile);
      }
      let bed: Testbed;
      try {
        bed = await Testbed.up(topology, {
          ...(values.underlay ? { underlaySubnet: values.underlay } : {}),
          gateway: !values['no-gateway'],
          log: values.json ? undefined : (m) => io.err(`${m}\n`),
        });
      } catch (e) {
        io.err(`vino-controller testbed: ${(e as Error).message}\n`);
        return EXIT_INVALID;
      }
      // From here on the testbed outlives this process: the state file owns it.
      bed.detach();
      const s = makeState(values.topology, bed.toRecord(), bed.topology);
      writeState(stateFile, s);
      io.out(values.json ? JSON.stringify(s, null, 2) + '\n' : summary(bed, stateFile));
      return EXIT_OK;
    }

    if (!state) {
      io.err(`vino-controller testbed: no testbed for topology "${topology.name}" (no state file ${stateFile})\n`);
      return EXIT_INVALID;
    }
    const record = loadRecord(state.runDir) ?? state.record;

    if (action === 'down') {
      try {
        await downRun(record);
      } catch (e) {
        io.err(`vino-controller testbed: ${(e as Error).message}\n`);
        return EXIT_INVALID;
      }
      removeState(stateFile);
      io.out(`testbed ${record.runId} removed\n`);
      return EXIT_OK;
    }

    const status = await runStatus(record);
    io.out(values.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status));
    return status.healthy ? EXIT_OK : EXIT_INVALID;
  },
};

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
