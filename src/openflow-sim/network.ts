/**
 * A fake OpenFlow 1.3 network for tests, after Faucet's FakeOFNetwork: switches hold flow
 * tables and groups built by applying real FLOW_MOD / GROUP_MOD messages (our codec's types),
 * and a frame is walked through every table of every switch it reaches. Tests then assert
 * behaviour ("a frame from A to B is delivered at port 3 of sw2, once") rather than comparing
 * flow lists, so they survive a change of table layout.
 *
 * Modelled: priorities, masked matches on the fields a packet carries, instructions
 * (apply/write/clear actions, goto, metadata, meter = pass), groups ALL/INDIRECT (SELECT and
 * FF take their first live bucket), OUTPUT (to a port, IN_PORT, CONTROLLER, ALL; never back
 * out of the ingress port, as OVS), PUSH/POP_VLAN, SET_FIELD. Links join (switch, port) pairs.
 */
import { Port } from '../openflow/constants.js';
import type { Action, Instruction, Match, Message, MeterBand, OxmBasicField } from '../openflow/types/index.js';

/** Header fields of a frame, by OXM name. Absent field = not present in the frame. */
export type Frame = Partial<Record<OxmBasicField['field'], number | bigint | string>>;

export interface SimFlow {
  tableId: number;
  priority: number;
  match: Match;
  instructions: Instruction[];
  cookie: bigint;
}

export interface SimGroup {
  groupType: string;
  buckets: { actions: Action[] }[];
}

export class SimSwitch {
  flows: SimFlow[] = [];
  groups = new Map<number, SimGroup>();
  /** Meters are kept (for read-back) but do not limit anything here. */
  meters = new Map<number, { flags: number; bands: MeterBand[] }>();
  constructor(readonly name: string) {}

  /** Applies one controller→switch message; returns an error text when the switch would refuse it. */
  apply(msg: Message): string | undefined {
    if (msg.type === 'FLOW_MOD') {
      const m = msg as unknown as { command: string; tableId: number; priority: number; match: Match; instructions: Instruction[]; cookie: bigint; cookieMask: bigint };
      const strictKey = (f: SimFlow) => f.tableId === m.tableId && f.priority === m.priority && sameMatch(f.match, m.match);
      const cookieOk = (f: SimFlow) => (f.cookie & m.cookieMask) === (m.cookie & m.cookieMask);
      switch (m.command) {
        case 'ADD':
          for (const inst of m.instructions) {
            if (inst.type === 'GOTO_TABLE' && inst.tableId <= m.tableId) return `goto_table ${inst.tableId} from table ${m.tableId}`;
          }
          this.flows = this.flows.filter((f) => !strictKey(f));
          this.flows.push({ tableId: m.tableId, priority: m.priority, match: m.match, instructions: m.instructions, cookie: m.cookie });
          return undefined;
        case 'MODIFY_STRICT':
        case 'MODIFY':
          for (const f of this.flows) {
            if ((m.command === 'MODIFY' ? looseCovers(m.match, f) && (m.tableId === 0xff || f.tableId === m.tableId) : strictKey(f)) && cookieOk(f)) f.instructions = m.instructions;
          }
          return undefined;
        case 'DELETE_STRICT':
          this.flows = this.flows.filter((f) => !(strictKey(f) && cookieOk(f)));
          return undefined;
        case 'DELETE':
          this.flows = this.flows.filter((f) => !((m.tableId === 0xff || f.tableId === m.tableId) && looseCovers(m.match, f) && cookieOk(f)));
          return undefined;
        default:
          return `unknown flow_mod command ${m.command}`;
      }
    }
    if (msg.type === 'GROUP_MOD') {
      const g = msg as unknown as { command: string; groupId: number; groupType: string; buckets: { actions: Action[] }[] };
      if (g.command === 'ADD') {
        if (this.groups.has(g.groupId)) return `group ${g.groupId} exists`;
        this.groups.set(g.groupId, { groupType: g.groupType, buckets: g.buckets });
      } else if (g.command === 'MODIFY') {
        if (!this.groups.has(g.groupId)) return `group ${g.groupId} unknown`;
        this.groups.set(g.groupId, { groupType: g.groupType, buckets: g.buckets });
      } else if (g.command === 'DELETE') {
        this.groups.delete(g.groupId);
      }
      return undefined;
    }
    return undefined; // meters, barriers and the rest do not change forwarding here
  }

  /** The highest-priority flow of `tableId` matching `frame` arriving on `inPort`. */
  lookup(tableId: number, frame: Frame, inPort: number): SimFlow | undefined {
    let best: SimFlow | undefined;
    for (const f of this.flows) {
      if (f.tableId !== tableId || (best && best.priority >= f.priority)) continue;
      if (matches(f.match, frame, inPort)) best = f;
    }
    return best;
  }
}

/** Where a frame ended up. */
export interface Delivery {
  switch: string;
  port: number;
  frame: Frame;
  /** For frames sent to the controller: the cookie of the flow that sent it (as a packet-in carries it). */
  cookie?: bigint;
}

export interface WalkResult {
  /** Frames that left the network at edge ports (ports with no link). */
  delivered: Delivery[];
  /** Frames sent to the controller (packet-ins). */
  toController: Delivery[];
  /** True when the walk exceeded the hop limit: a forwarding loop. */
  looped: boolean;
}

export class SimNetwork {
  readonly switches = new Map<string, SimSwitch>();
  /** "sw:port" → the far end. */
  private readonly links = new Map<string, { switch: string; port: number }>();

  addSwitch(name: string): SimSwitch {
    const sw = new SimSwitch(name);
    this.switches.set(name, sw);
    return sw;
  }

  /** Joins two ports (a VXLAN tunnel in our overlays). */
  link(a: string, aPort: number, b: string, bPort: number): void {
    this.links.set(`${a}:${aPort}`, { switch: b, port: bPort });
    this.links.set(`${b}:${bPort}`, { switch: a, port: aPort });
  }

  unlink(a: string, aPort: number): void {
    const far = this.links.get(`${a}:${aPort}`);
    this.links.delete(`${a}:${aPort}`);
    if (far) this.links.delete(`${far.switch}:${far.port}`);
  }

  /** Ports of `sw` that are linked (tunnels); every other port is an edge port. */
  linkedPorts(sw: string): number[] {
    return [...this.links.keys()].filter((k) => k.startsWith(`${sw}:`)).map((k) => Number(k.slice(sw.length + 1)));
  }

  /** Injects `frame` at `sw` port `inPort` and follows every copy through the network. */
  walk(sw: string, inPort: number, frame: Frame, hopLimit = 64): WalkResult {
    const result: WalkResult = { delivered: [], toController: [], looped: false };
    const queue: { sw: string; inPort: number; frame: Frame; hops: number }[] = [{ sw, inPort, frame, hops: 0 }];
    let budget = 10_000;
    while (queue.length > 0) {
      const item = queue.shift()!;
      if (item.hops > hopLimit || --budget < 0) {
        result.looped = true;
        break;
      }
      const node = this.switches.get(item.sw);
      if (!node) throw new Error(`unknown switch ${item.sw}`);
      for (const out of runPipeline(node, item.inPort, item.frame)) {
        if (out.port === Port.CONTROLLER) {
          result.toController.push({ switch: item.sw, port: item.inPort, frame: out.frame, ...(out.cookie !== undefined ? { cookie: out.cookie } : {}) });
          continue;
        }
        const far = this.links.get(`${item.sw}:${out.port}`);
        if (far) queue.push({ sw: far.switch, inPort: far.port, frame: out.frame, hops: item.hops + 1 });
        else result.delivered.push({ switch: item.sw, port: out.port, frame: out.frame });
      }
    }
    return result;
  }
}

interface Output {
  port: number;
  frame: Frame;
  cookie?: bigint;
}

function runPipeline(sw: SimSwitch, inPort: number, input: Frame): Output[] {
  const outputs: Output[] = [];
  let frame: Frame = { ...input };
  let actionSet: Action[] = [];
  let tableId = 0;
  for (let guard = 0; guard < 256; guard++) {
    const flow = sw.lookup(tableId, frame, inPort);
    if (!flow) return outputs; // OpenFlow 1.3 default table-miss: drop
    let next: number | undefined;
    for (const inst of flow.instructions) {
      switch (inst.type) {
        case 'APPLY_ACTIONS':
          frame = runActions(sw, inst.actions, frame, inPort, outputs, flow.cookie);
          break;
        case 'CLEAR_ACTIONS':
          actionSet = [];
          break;
        case 'WRITE_ACTIONS':
          actionSet = [...actionSet.filter((a) => !inst.actions.some((b) => b.type === a.type && a.type !== 'SET_FIELD')), ...inst.actions];
          break;
        case 'WRITE_METADATA': {
          const cur = BigInt(frame.metadata ?? 0n);
          frame = { ...frame, metadata: (cur & ~inst.metadataMask) | (inst.metadata & inst.metadataMask) };
          break;
        }
        case 'GOTO_TABLE':
          next = inst.tableId;
          break;
        default:
          break; // METER: admitted; EXPERIMENTER: ignored
      }
    }
    if (next === undefined) {
      runActions(sw, actionSet, frame, inPort, outputs, flow.cookie);
      return outputs;
    }
    tableId = next;
  }
  throw new Error(`goto loop on ${sw.name}`);
}

function runActions(sw: SimSwitch, actions: readonly Action[], input: Frame, inPort: number, outputs: Output[], cookie?: bigint): Frame {
  let frame = input;
  for (const a of actions) {
    switch (a.type) {
      case 'OUTPUT':
        if (a.port === Port.CONTROLLER) outputs.push({ port: a.port, frame, ...(cookie !== undefined ? { cookie } : {}) });
        else if (a.port === Port.IN_PORT) outputs.push({ port: inPort, frame });
        else if (a.port !== inPort) outputs.push({ port: a.port, frame });
        break;
      case 'GROUP': {
        const g = sw.groups.get(a.groupId);
        if (!g) break;
        const buckets = g.groupType === 'ALL' ? g.buckets : g.buckets.slice(0, 1);
        for (const b of buckets) runActions(sw, b.actions, frame, inPort, outputs, cookie);
        break;
      }
      case 'PUSH_VLAN':
        // The new tag copies the priority of the tag it covers, else 0 (OpenFlow 1.3, push_vlan).
        frame = { ...frame, vlan_vid: 0x1000, vlan_pcp: frame.vlan_vid === undefined ? 0 : (frame.vlan_pcp ?? 0), vlan_outer: frame.vlan_vid, vlan_outer_pcp: frame.vlan_pcp } as Frame;
        break;
      case 'POP_VLAN': {
        const { vlan_vid: _drop, vlan_pcp: _pcp, ...rest } = frame as Frame & { vlan_outer?: number; vlan_outer_pcp?: number };
        const outer = (frame as { vlan_outer?: number }).vlan_outer;
        const outerPcp = (frame as { vlan_outer_pcp?: number }).vlan_outer_pcp;
        frame = outer === undefined ? rest : { ...rest, vlan_vid: outer, ...(outerPcp === undefined ? {} : { vlan_pcp: outerPcp }) };
        break;
      }
      case 'SET_FIELD':
        if (a.field.field !== 'opaque') frame = { ...frame, [a.field.field]: a.field.value };
        break;
      default:
        break;
    }
  }
  return frame;
}

function matches(match: Match, frame: Frame, inPort: number): boolean {
  for (const f of match.fields) {
    if (f.field === 'opaque') return false;
    const actual = f.field === 'in_port' ? inPort : f.field === 'vlan_vid' ? (frame.vlan_vid ?? 0) : frame[f.field];
    if (actual === undefined) return false;
    const a = toBig(actual);
    const v = toBig(f.value);
    const m = f.mask === undefined ? undefined : toBig(f.mask);
    if (m === undefined ? a !== v : (a & m) !== (v & m)) return false;
  }
  return true;
}

/** Whether loose match `m` (DELETE/MODIFY) covers flow `f`: every field of `m` is in `f`, same value. */
function looseCovers(m: Match, f: SimFlow): boolean {
  return m.fields.every((mf) => f.match.fields.some((ff) => JSON.stringify(norm(ff)) === JSON.stringify(norm(mf))));
}

function sameMatch(a: Match, b: Match): boolean {
  const key = (m: Match) => m.fields.map((x) => JSON.stringify(norm(x))).sort().join('|');
  return key(a) === key(b);
}

function norm(f: Match['fields'][number]): unknown {
  if (f.field === 'opaque') return [f.oxmClass, f.oxmField, f.data.toString('hex')];
  return [f.field, toBig(f.value).toString(), f.mask === undefined ? null : toBig(f.mask).toString()];
}

/** Field values as integers: MAC and IPv4 text become their numeric value. */
function toBig(v: number | bigint | string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (v.includes(':') && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v)) return BigInt('0x' + v.replace(/:/g, ''));
  if (/^\d+\.\d+\.\d+\.\d+$/.test(v)) return v.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  return BigInt('0x' + Buffer.from(v).toString('hex'));
}
