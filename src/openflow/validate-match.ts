/**
 * Checks a match against the rules of spec 7.2.3 that decoding deliberately does not enforce,
 * returning every problem found (empty = valid), each as the OpenFlowError a switch would
 * answer a FLOW_MOD with:
 *  - BAD_FIELD: unknown field name;
 *  - BAD_VALUE: value not of the field's kind, bits set above the field's width (e.g. ip_dscp
 *    > 63), in_port / in_phy_port that cannot be an ingress port, vlan_vid with VID bits but
 *    no OFPVID_PRESENT (table 13 gives such a value no meaning);
 *  - BAD_MASK: mask on a field the spec does not allow to be masked, or a mask not of the kind;
 *  - BAD_WILDCARDS: value bits set where the mask is 0 (7.2.3.5);
 *  - DUP_FIELD: a field type appearing twice (7.2.3.6);
 *  - BAD_PREREQ: a prerequisite missing, masked, of another value, or placed after the field
 *    that needs it (7.2.3.6: "must appear after the OXM TLVs for its prerequisites").
 * Offsets are byte offsets from the start of the ofp_match (the first TLV is at 4).
 * Opaque fields are checked for duplicates (with the basic field of the same code, if any);
 * opaque TLVs of the basic class also for an undefined code (BAD_FIELD) or a length that does
 * not fit the field (BAD_LEN).
 */
import { Port } from './constants.js';
import { ofpError, type OpenFlowError } from './errors.js';
import { oxmValueInto } from './encode/match.js';
import {
  OFPVID_PRESENT, OXM_CLASS_EXPERIMENTER, OXM_CLASS_OPENFLOW_BASIC, oxmFieldByCode, oxmFieldByName,
  type OxmFieldSpec,
} from './oxm-fields.js';
import type { Match, OxmBasicField, OxmField } from './types/match.js';

const VALUE = Buffer.alloc(16);
const MASK = Buffer.alloc(16);

export function validateMatch(m: Match): OpenFlowError[] {
  const errors: OpenFlowError[] = [];
  const fields = m.fields;
  const seen = new Set<number | string>();
  let offset = 4;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const at = offset;
    offset += tlvLength(f);
    if (f.field === 'opaque') {
      // Experimenter fields are told apart by their experimenter id too.
      const key = f.oxmClass === OXM_CLASS_EXPERIMENTER && f.data.length >= 4
        ? `x${f.oxmField}:${f.data.readUInt32BE(0)}`
        : f.oxmClass * 128 + f.oxmField;
      if (seen.has(key)) errors.push(ofpError('BAD_MATCH', 'DUP_FIELD', at, `OXM class 0x${f.oxmClass.toString(16)} field ${f.oxmField} appears more than once`));
      seen.add(key);
      if (f.oxmClass === OXM_CLASS_OPENFLOW_BASIC) {
        // A raw TLV in the basic class: decode only produces these for codes OpenFlow 1.3
        // does not define; hand-built ones may also carry a known code with a wrong length.
        const basic = oxmFieldByCode(f.oxmClass, f.oxmField);
        if (basic === undefined) {
          errors.push(ofpError('BAD_MATCH', 'BAD_FIELD', at, `OpenFlow-basic field code ${f.oxmField} is not defined by OpenFlow 1.3`));
        } else if (f.data.length !== (f.hasMask ? 2 : 1) * basic.length) {
          errors.push(ofpError('BAD_MATCH', 'BAD_LEN', at, `${basic.name}${f.hasMask ? ' (masked)' : ''} needs ${(f.hasMask ? 2 : 1) * basic.length} payload bytes, got ${f.data.length}`));
        } else if (f.hasMask && !basic.maskable) {
          errors.push(ofpError('BAD_MATCH', 'BAD_MASK', at, `${basic.name} cannot be masked`));
        }
      }
      continue;
    }
    const spec = oxmFieldByName(f.field);
    if (spec === undefined) {
      errors.push(ofpError('BAD_MATCH', 'BAD_FIELD', at, `unknown OXM field ${JSON.stringify(f.field)}`));
      continue;
    }
    const key = 0x8000 * 128 + spec.code;
    if (seen.has(key)) errors.push(ofpError('BAD_MATCH', 'DUP_FIELD', at, `${spec.name} appears more than once`));
    seen.add(key);

    const valueProblem = oxmValueInto(spec, f.value, VALUE, 0);
    if (valueProblem !== null) {
      errors.push(ofpError('BAD_MATCH', 'BAD_VALUE', at, `${spec.name} value: ${valueProblem}`));
    } else {
      checkValue(spec, f, at, errors);
    }
    if (f.mask !== undefined) {
      if (!spec.maskable) {
        errors.push(ofpError('BAD_MATCH', 'BAD_MASK', at, `${spec.name} cannot be masked`));
      } else {
        const maskProblem = oxmValueInto(spec, f.mask, MASK, 0);
        if (maskProblem !== null) {
          errors.push(ofpError('BAD_MATCH', 'BAD_MASK', at, `${spec.name} mask: ${maskProblem}`));
        } else if (valueProblem === null) {
          for (let b = 0; b < spec.length; b++) {
            if ((VALUE[b]! & ~MASK[b]!) !== 0) {
              errors.push(ofpError('BAD_MATCH', 'BAD_WILDCARDS', at, `${spec.name}: value has bits set outside the mask`));
              break;
            }
          }
        }
      }
    }
    if (spec.prereq !== null) {
      const problem = prereqProblem(spec, fields, i);
      if (problem !== null) errors.push(ofpError('BAD_MATCH', 'BAD_PREREQ', at, `${spec.name} ${problem}`));
    }
  }
  return errors;
}

function tlvLength(f: OxmField): number {
  if (f.field === 'opaque') return 4 + (f.data?.length ?? 0);
  const spec = oxmFieldByName(f.field);
  const len = spec?.length ?? 0;
  return 4 + (f.mask !== undefined ? 2 * len : len);
}

/** Field-specific value rules; the value is known to be of the right kind. */
function checkValue(spec: OxmFieldSpec, f: OxmBasicField, at: number, errors: OpenFlowError[]): void {
  if (typeof f.value === 'number' && spec.bits < spec.length * 8 && f.value >= 2 ** spec.bits) {
    errors.push(ofpError('BAD_MATCH', 'BAD_VALUE', at, `${spec.name} value ${f.value} does not fit in ${spec.bits} bits`));
    return;
  }
  switch (spec.name) {
    case 'in_port':
      // Ingress ports are numbered 1..OFPP_MAX, plus LOCAL and CONTROLLER (packet-out).
      if (f.value === 0 || ((f.value as number) > Port.MAX && f.value !== Port.LOCAL && f.value !== Port.CONTROLLER)) {
        errors.push(ofpError('BAD_MATCH', 'BAD_VALUE', at, `in_port ${portText(f.value as number)} cannot be an ingress port`));
      }
      break;
    case 'in_phy_port':
      if (f.value === 0 || (f.value as number) > Port.MAX) {
        errors.push(ofpError('BAD_MATCH', 'BAD_VALUE', at, `in_phy_port ${portText(f.value as number)} is not a physical port number`));
      }
      break;
    case 'vlan_vid': {
      const v = f.value as number;
      if (f.mask === undefined && v !== 0 && (v & OFPVID_PRESENT) === 0) {
        errors.push(ofpError('BAD_MATCH', 'BAD_VALUE', at, `vlan_vid 0x${v.toString(16)} lacks OFPVID_PRESENT (0x1000); use 0x1000|vid, or 0 for "no VLAN"`));
      }
      break;
    }
  }
}

function portText(p: number): string {
  const reserved = Object.entries(Port).find(([, v]) => v === p);
  return reserved ? `0x${p.toString(16)} (${reserved[0]})` : String(p);
}

/** Why field i's prerequisite is not met, or null. */
function prereqProblem(spec: OxmFieldSpec, fields: readonly OxmField[], i: number): string | null {
  const pre = spec.prereq!;
  const want = pre.values === null
    ? pre.presentBit !== undefined ? `${pre.field} with OFPVID_PRESENT` : pre.field
    : `${pre.field}=${pre.values.map((v) => (pre.field === 'eth_type' ? `0x${v.toString(16)}` : String(v))).join(' or ')}`;
  let before: OxmBasicField | undefined;
  for (let j = 0; j < i; j++) {
    const g = fields[j]!;
    if (g.field === pre.field) {
      before = g;
      break;
    }
  }
  if (before === undefined) {
    for (let j = i + 1; j < fields.length; j++) {
      if (fields[j]!.field === pre.field) return `needs ${want}, which must come before it in the match`;
    }
    return `needs ${want}`;
  }
  if (pre.presentBit !== undefined) {
    // vlan_pcp: VLAN_VID != NONE, i.e. a tag is required — exact (0x1000|vid) or the
    // masked "any tag" form (0x1000/0x1000).
    const v = before.value as number;
    const mask = before.mask === undefined ? 0xffff : (before.mask as number);
    return typeof v === 'number' && (v & mask & pre.presentBit) !== 0 ? null : `needs ${want}, got ${describeField(before)}`;
  }
  if (before.mask !== undefined) return `needs ${want} unmasked, got ${describeField(before)}`;
  if (pre.values !== null && !pre.values.includes(before.value as number)) return `needs ${want}, got ${describeField(before)}`;
  return null;
}

function describeField(f: OxmBasicField): string {
  const show = (v: unknown): string => (typeof v === 'number' && (f.field === 'eth_type' || f.field === 'vlan_vid') ? `0x${(v as number).toString(16)}` : String(v));
  return `${f.field}=${show(f.value)}${f.mask !== undefined ? `/${show(f.mask)}` : ''}`;
}
