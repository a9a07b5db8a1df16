/**
 * The JSON form of every OpenFlow 1.3 message (documented in JSON.md beside this file).
 *
 * The JSON form is the in-memory object with two substitutions: a `bigint` (every 64-bit
 * field) is written as an exact JSON integer, and a `Buffer` (every payload) as a lowercase
 * hex string. Reading back needs to know which fields those were, so every message has a
 * schema below, mirroring the types in `types/`. The schemas are typed against those types,
 * so a field added to or renamed in a message type fails to compile here until its JSON form
 * is decided. The same schemas validate input: any value that is not a well-formed message
 * is refused with a MessageJsonError naming the path of the offending part
 * (`$.instructions[0].actions[1].port`).
 *
 * Only the shape and ranges of fields are checked here (an integer fits its wire field, an
 * enum name exists, an address parses); protocol rules that need the whole message
 * (prerequisites of match fields, lengths) belong to the encoder and `validateMatch`.
 */
import { isIpv4, isIpv6, isMac } from './addr.js';
import { MessageTypeCode, type MessageTypeName } from './constants.js';
import { childPath, parseJson, stringifyJson, type JsonObject, type JsonValue } from '../json/index.js';
import { OXM_FIELDS, oxmFieldByName, type OxmValueKind } from './oxm-fields.js';
import { ActionTypeCode, InstructionTypeCode } from './struct-codes.js';
import { FlowRemovedReasonNames, PacketInReasonNames, PortReasonNames } from './types/async.js';
import { FlowModCommandNames } from './types/flow.js';
import { GroupModCommandNames, GroupTypeNames, MeterModCommandNames } from './types/group-meter.js';
import { GroupDescTypeCode, MultipartTypeCode } from './types/multipart.js';
import { ControllerRoleNames } from './types/switch.js';
import type * as T from './types/index.js';

export type { JsonValue } from '../json/index.js';

/** A JSON value that is not a valid message: `path` locates the part (`$` is the message). */
export class MessageJsonError extends Error {
  override readonly name = 'MessageJsonError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Public API

/** The JSON value of a message (bigint stays bigint above 2^53; write it with `stringifyMessage`). */
export function messageToJSON(msg: T.Message): JsonValue {
  return messageCodec.toJson(msg, '$');
}

/**
 * A message from its JSON value. 64-bit fields may be numbers (safe integers) or bigints;
 * payloads are hex strings. Throws MessageJsonError naming the path of what is wrong.
 */
export function messageFromJSON(value: unknown): T.Message {
  return messageCodec.fromJson(value as JsonValue, '$');
}

/** One line of JSON, 64-bit integers written exactly. */
export function stringifyMessage(msg: T.Message, indent?: number | string): string {
  return stringifyJson(messageToJSON(msg), indent);
}

/**
 * A message from JSON text. Throws JsonSyntaxError (line:column) for text that is not JSON,
 * MessageJsonError (path) for JSON that is not a message.
 */
export function parseMessage(text: string): T.Message {
  return messageFromJSON(parseJson(text));
}

// ---------------------------------------------------------------------------------------------
// Codec combinators

interface Codec<V> {
  /** What a valid JSON value looks like, for error messages ("an integer 0..65535"). */
  readonly expected: string;
  toJson(v: V, path: string): JsonValue;
  fromJson(v: JsonValue, path: string): V;
}

interface Optional<V> {
  readonly optional: Codec<V>;
}

/** A field's codec: optional properties (`x?: V`) may be absent in JSON too. */
type FieldCodec<V> = undefined extends V ? Optional<Exclude<V, undefined>> : Codec<V>;
/** Every property of `O`, each with its codec: the compiler checks the schema is complete. */
type Shape<O> = { [K in keyof O]-?: FieldCodec<O[K]> };

function fail(path: string, reason: string): never {
  throw new MessageJsonError(path, reason);
}

/** A short description of a JSON value, for "expected X, got Y". */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (Buffer.isBuffer(v)) return 'a Buffer';
  switch (typeof v) {
    case 'string':
      return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
    case 'number':
      return `number ${String(v)}`;
    case 'bigint':
      return `integer ${String(v)}`;
    case 'boolean':
      return String(v);
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

/** A name as written in JSON ("FOO"), or the description of a value that is not a string. */
function quoted(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : describe(v);
}

function expect(path: string, codec: { expected: string }, v: unknown): never {
  return fail(path, `expected ${codec.expected}, got ${describe(v)}`);
}

function opt<V>(codec: Codec<V>): Optional<V> {
  return { optional: codec };
}

function uint(bits: number): Codec<number> {
  const max = 2 ** bits - 1;
  const codec: Codec<number> = {
    expected: `an integer 0..${max}`,
    toJson(v, path) {
      if (typeof v !== 'number') expect(path, codec, v);
      return v;
    },
    fromJson(v, path) {
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max) return v;
      // Some lossless parsers make every integer a bigint: accept those that fit.
      if (typeof v === 'bigint' && v >= 0n && v <= BigInt(max)) return Number(v);
      return expect(path, codec, v);
    },
  };
  return codec;
}
const u8 = uint(8);
const u16 = uint(16);
const u32 = uint(32);

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** In memory a bigint; in JSON an exact integer (a bigint in the JSON value above 2^53). */
const u64: Codec<bigint> = {
  expected: `an integer 0..${U64_MAX}`,
  toJson(v, path) {
    if (typeof v !== 'bigint') expect(path, { expected: 'a bigint' }, v);
    // Same convention as parseJson: a number where exact, a bigint beyond 2^53.
    return v >= 0n && v <= SAFE_MAX ? Number(v) : v;
  },
  fromJson(v, path) {
    if (typeof v === 'bigint' && v >= 0n && v <= U64_MAX) return v;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
      if (Number.isSafeInteger(v)) return BigInt(v);
      // A double this large was probably rounded by JSON.parse: refuse rather than guess.
      return fail(path, `${v} is above 2^53 and may have been rounded; read the JSON with a lossless parser (parseMessage)`);
    }
    return expect(path, u64, v);
  },
};

/** In memory a Buffer; in JSON a hex string, two digits per byte. */
const hex: Codec<Buffer> = {
  expected: 'a hex string (two digits per byte)',
  toJson(v, path) {
    if (!(v instanceof Uint8Array)) expect(path, { expected: 'a Buffer' }, v);
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  },
  fromJson(v, path) {
    if (typeof v !== 'string') return expect(path, hex, v);
    const bad = v.search(/[^0-9a-fA-F]/);
    if (bad >= 0) return fail(path, `not a hex string: ${JSON.stringify(v.charAt(bad))} at character ${bad}`);
    if (v.length % 2 !== 0) return fail(path, `hex string has an odd number of digits (${v.length})`);
    return Buffer.from(v, 'hex');
  },
};

const bool: Codec<boolean> = {
  expected: 'true or false',
  toJson(v, path) {
    if (typeof v !== 'boolean') expect(path, bool, v);
    return v;
  },
  fromJson(v, path) {
    return typeof v === 'boolean' ? v : expect(path, bool, v);
  },
};

/** A string of a fixed-width wire field, read as latin1 (one byte per character). */
function text(maxBytes: number): Codec<string> {
  const codec: Codec<string> = {
    expected: `a string of at most ${maxBytes} characters`,
    toJson(v, path) {
      if (typeof v !== 'string') expect(path, codec, v);
      return v;
    },
    fromJson(v, path) {
      if (typeof v !== 'string') return expect(path, codec, v);
      if (v.length > maxBytes) return fail(path, `string of ${v.length} characters does not fit the ${maxBytes}-byte field`);
      const wide = v.search(/[^\u0000-\u00ff]/);
      if (wide >= 0) return fail(path, `character ${JSON.stringify(v.charAt(wide))} at ${wide} is not a single byte (latin1)`);
      return v;
    },
  };
  return codec;
}

/** An address in its text form, checked with the same parser the encoder uses. */
function address(kind: 'MAC' | 'IPv4' | 'IPv6', example: string, valid: (s: string) => boolean): Codec<string> {
  const codec: Codec<string> = {
    expected: `${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind} address string ("${example}")`,
    toJson(v, path) {
      if (typeof v !== 'string') expect(path, codec, v);
      return v;
    },
    fromJson(v, path) {
      return typeof v === 'string' && valid(v) ? v : expect(path, codec, v);
    },
  };
  return codec;
}
const mac = address('MAC', 'aa:bb:cc:dd:ee:ff', isMac);
const ipv4 = address('IPv4', '10.0.0.1', isIpv4);
const ipv6 = address('IPv6', '2001:db8::1', isIpv6);

function listNames(names: readonly (string | number)[]): string {
  return names.map((n) => (typeof n === 'string' ? JSON.stringify(n) : String(n))).join(', ');
}

/** One of a closed set of names. */
function oneOf<N extends string | number>(names: readonly N[]): Codec<N> {
  const set = new Set<unknown>(names);
  const codec: Codec<N> = {
    expected: names.length === 1 ? listNames(names) : `one of ${listNames(names)}`,
    toJson(v, path) {
      if (!set.has(v)) expect(path, codec, v);
      return v;
    },
    fromJson(v, path) {
      return set.has(v) ? (v as N) : expect(path, codec, v);
    },
  };
  return codec;
}

/** A name of a known set, or the raw wire code (a code the set does not name). */
function nameOrCode<N extends string>(names: readonly N[], bits: number): Codec<N | number> {
  const code = uint(bits);
  const set = new Set<unknown>(names);
  const codec: Codec<N | number> = {
    expected: `one of ${listNames(names)} or ${code.expected}`,
    toJson(v, path) {
      if (typeof v === 'number') return v;
      if (!set.has(v)) expect(path, codec, v);
      return v;
    },
    fromJson(v, path) {
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 2 ** bits - 1) return v;
      return set.has(v) ? (v as N) : expect(path, codec, v);
    },
  };
  return codec;
}

function arrayOf<V>(item: Codec<V>): Codec<V[]> {
  const codec: Codec<V[]> = {
    expected: 'an array',
    toJson(v, path) {
      if (!Array.isArray(v)) expect(path, codec, v);
      return v.map((x, i) => item.toJson(x, childPath(path, i)));
    },
    fromJson(v, path) {
      if (!Array.isArray(v)) return expect(path, codec, v);
      return v.map((x, i) => item.fromJson(x, childPath(path, i)));
    },
  };
  return codec;
}

/** A fixed-length array (a C array in the wire struct). */
function tuple<V, Tup extends V[]>(item: Codec<V>, n: number): Codec<Tup> {
  const codec: Codec<Tup> = {
    expected: `an array of ${n} elements`,
    toJson(v, path) {
      if (!Array.isArray(v) || v.length !== n) expect(path, codec, v);
      return v.map((x, i) => item.toJson(x, childPath(path, i)));
    },
    fromJson(v, path) {
      if (!Array.isArray(v)) return expect(path, codec, v);
      if (v.length !== n) return fail(path, `expected an array of ${n} elements, got ${v.length}`);
      return v.map((x, i) => item.fromJson(x, childPath(path, i))) as Tup;
    },
  };
  return codec;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/**
 * An object with exactly the properties of `shape` (optional ones may be absent). Unknown
 * keys are refused: a misspelt field would otherwise be silently encoded as its default.
 * JSON output lists the properties in schema order.
 */
function record<O>(shape: Shape<O>): Codec<O> {
  const entries = Object.entries(shape) as [string, Codec<unknown> | Optional<unknown>][];
  const known = new Set(entries.map(([k]) => k));
  const codec: Codec<O> = {
    expected: 'an object',
    toJson(v, path) {
      if (!isObject(v)) expect(path, codec, v);
      const out: JsonObject = {};
      for (const [key, field] of entries) {
        const x = v[key];
        if ('optional' in field) {
          if (x !== undefined) out[key] = field.optional.toJson(x, childPath(path, key));
        } else {
          if (x === undefined) fail(childPath(path, key), `missing (expected ${field.expected})`);
          out[key] = field.toJson(x, childPath(path, key));
        }
      }
      return out;
    },
    fromJson(v, path) {
      if (!isObject(v)) return expect(path, codec, v);
      for (const key of Object.keys(v)) {
        if (!known.has(key)) fail(childPath(path, key), `unknown field (expected ${listNames([...known])})`);
      }
      const out: Record<string, unknown> = {};
      for (const [key, field] of entries) {
        const x = Object.hasOwn(v, key) ? v[key] : undefined;
        if ('optional' in field) {
          if (x !== undefined) out[key] = field.optional.fromJson(x as JsonValue, childPath(path, key));
        } else {
          if (x === undefined) fail(childPath(path, key), `missing field (expected ${field.expected})`);
          out[key] = field.fromJson(x as JsonValue, childPath(path, key));
        }
      }
      return out as O;
    },
  };
  return codec;
}

/** The members of union `U` whose `K` property admits the value `V`. */
type VariantOf<U, K extends keyof U, V> = U extends unknown ? (V extends U[K] ? U : never) : never;

/**
 * A union discriminated by the string property `key`: each name maps to the codec of its
 * member. A member whose discriminator admits several names is listed under each.
 */
function union<U extends object, K extends keyof U & string>(
  what: string,
  key: K,
  variants: { [V in U[K] & string]: Codec<VariantOf<U, K, V>> },
): Codec<U> {
  const table = variants as Record<string, Codec<U>>;
  const names = Object.keys(table);
  const pick = (v: unknown, path: string): Codec<U> => {
    if (!isObject(v)) return expect(path, { expected: 'an object' }, v);
    const name = v[key];
    if (name === undefined) return fail(childPath(path, key), `missing field (the ${what} ${key}: one of ${listNames(names)})`);
    const c = typeof name === 'string' && Object.hasOwn(table, name) ? table[name] : undefined;
    if (!c) return fail(childPath(path, key), `unknown ${what} ${key} ${quoted(name)} (expected one of ${listNames(names)})`);
    return c;
  };
  return {
    expected: `${/^[aeiou]/i.test(what) ? 'an' : 'a'} ${what} object`,
    toJson: (v, path) => pick(v, path).toJson(v, path),
    fromJson: (v, path) => pick(v, path).fromJson(v, path),
  };
}

function literal<N extends string | number>(name: N): Codec<N> {
  return oneOf([name]);
}

// ---------------------------------------------------------------------------------------------
// OXM fields: the value's JSON form depends on the field (table in oxm-fields.ts).

const oxmValueCodecs: Record<OxmValueKind, Codec<number> | Codec<bigint> | Codec<string>> = {
  u8: uint(8),
  u16: uint(16),
  u24: uint(24),
  u32: uint(32),
  u64,
  mac,
  ipv4,
  ipv6,
};

const oxmOpaque = record<T.OxmOpaqueField>({
  field: literal('opaque'),
  oxmClass: u16,
  oxmField: uint(7),
  hasMask: bool,
  data: hex,
});

const OXM_FIELD_NAMES = OXM_FIELDS.map((s) => s.name);

const oxmField: Codec<T.OxmField> = {
  expected: 'an OXM field object',
  toJson(v, path) {
    if (!isObject(v)) return expect(path, oxmField, v);
    if (v.field === 'opaque') return oxmOpaque.toJson(v as unknown as T.OxmOpaqueField, path);
    return basicFieldCodec(v.field, path).toJson(v as unknown as T.OxmBasicField, path);
  },
  fromJson(v, path) {
    if (!isObject(v)) return expect(path, oxmField, v);
    if (v.field === 'opaque') return oxmOpaque.fromJson(v, path);
    return basicFieldCodec(v.field, path).fromJson(v, path);
  },
};

const basicFieldCodecs = new Map<string, Codec<T.OxmBasicField>>();
function basicFieldCodec(name: unknown, path: string): Codec<T.OxmBasicField> {
  const spec = typeof name === 'string' ? oxmFieldByName(name) : undefined;
  if (!spec) {
    if (name === undefined) fail(childPath(path, 'field'), 'missing field (the OXM field name)');
    fail(childPath(path, 'field'), `unknown OXM field ${quoted(name)} (expected one of ${listNames(OXM_FIELD_NAMES)}, or "opaque")`);
  }
  let codec = basicFieldCodecs.get(spec.name);
  if (!codec) {
    const value = oxmValueCodecs[spec.kind] as Codec<T.OxmValue>;
    codec = record<T.OxmBasicField>({ field: literal(spec.name), value, mask: opt(value) });
    basicFieldCodecs.set(spec.name, codec);
  }
  return codec;
}

const match = record<T.Match>({ fields: arrayOf(oxmField) });

// ---------------------------------------------------------------------------------------------
// Actions, instructions and shared structures

type ActionOf<N extends T.Action['type']> = Extract<T.Action, { type: N }>;

const action: Codec<T.Action> = union<T.Action, 'type'>('action', 'type', {
  OUTPUT: record<ActionOf<'OUTPUT'>>({ type: literal('OUTPUT'), port: u32, maxLen: u16 }),
  COPY_TTL_OUT: record<ActionOf<'COPY_TTL_OUT'>>({ type: literal('COPY_TTL_OUT') }),
  COPY_TTL_IN: record<ActionOf<'COPY_TTL_IN'>>({ type: literal('COPY_TTL_IN') }),
  SET_MPLS_TTL: record<ActionOf<'SET_MPLS_TTL'>>({ type: literal('SET_MPLS_TTL'), mplsTtl: u8 }),
  DEC_MPLS_TTL: record<ActionOf<'DEC_MPLS_TTL'>>({ type: literal('DEC_MPLS_TTL') }),
  PUSH_VLAN: record<ActionOf<'PUSH_VLAN'>>({ type: literal('PUSH_VLAN'), ethertype: u16 }),
  POP_VLAN: record<ActionOf<'POP_VLAN'>>({ type: literal('POP_VLAN') }),
  PUSH_MPLS: record<ActionOf<'PUSH_MPLS'>>({ type: literal('PUSH_MPLS'), ethertype: u16 }),
  POP_MPLS: record<ActionOf<'POP_MPLS'>>({ type: literal('POP_MPLS'), ethertype: u16 }),
  SET_QUEUE: record<ActionOf<'SET_QUEUE'>>({ type: literal('SET_QUEUE'), queueId: u32 }),
  GROUP: record<ActionOf<'GROUP'>>({ type: literal('GROUP'), groupId: u32 }),
  SET_NW_TTL: record<ActionOf<'SET_NW_TTL'>>({ type: literal('SET_NW_TTL'), nwTtl: u8 }),
  DEC_NW_TTL: record<ActionOf<'DEC_NW_TTL'>>({ type: literal('DEC_NW_TTL') }),
  SET_FIELD: record<ActionOf<'SET_FIELD'>>({ type: literal('SET_FIELD'), field: oxmField }),
  PUSH_PBB: record<ActionOf<'PUSH_PBB'>>({ type: literal('PUSH_PBB'), ethertype: u16 }),
  POP_PBB: record<ActionOf<'POP_PBB'>>({ type: literal('POP_PBB') }),
  EXPERIMENTER: record<ActionOf<'EXPERIMENTER'>>({ type: literal('EXPERIMENTER'), experimenter: u32, data: hex }),
});
const actions = arrayOf(action);

type InstructionOf<N extends T.Instruction['type']> = Extract<T.Instruction, { type: N }>;
const instruction: Codec<T.Instruction> = union<T.Instruction, 'type'>('instruction', 'type', {
  GOTO_TABLE: record<InstructionOf<'GOTO_TABLE'>>({ type: literal('GOTO_TABLE'), tableId: u8 }),
  WRITE_METADATA: record<InstructionOf<'WRITE_METADATA'>>({
    type: literal('WRITE_METADATA'), metadata: u64, metadataMask: u64,
  }),
  WRITE_ACTIONS: record<InstructionOf<'WRITE_ACTIONS'>>({ type: literal('WRITE_ACTIONS'), actions }),
  APPLY_ACTIONS: record<InstructionOf<'APPLY_ACTIONS'>>({ type: literal('APPLY_ACTIONS'), actions }),
  CLEAR_ACTIONS: record<InstructionOf<'CLEAR_ACTIONS'>>({ type: literal('CLEAR_ACTIONS') }),
  METER: record<InstructionOf<'METER'>>({ type: literal('METER'), meterId: u32 }),
  EXPERIMENTER: record<InstructionOf<'EXPERIMENTER'>>({ type: literal('EXPERIMENTER'), experimenter: u32, data: hex }),
});
const instructions = arrayOf(instruction);

const portDesc = record<T.PortDesc>({
  portNo: u32,
  hwAddr: mac,
  name: text(16),
  config: u32,
  state: u32,
  curr: u32,
  advertised: u32,
  supported: u32,
  peer: u32,
  currSpeed: u32,
  maxSpeed: u32,
});

const bucket = record<T.Bucket>({ weight: u16, watchPort: u32, watchGroup: u32, actions });
const buckets = arrayOf(bucket);

type BandOf<N extends T.MeterBand['type']> = Extract<T.MeterBand, { type: N }>;
const meterBand: Codec<T.MeterBand> = union<T.MeterBand, 'type'>('meter band', 'type', {
  DROP: record<BandOf<'DROP'>>({ type: literal('DROP'), rate: u32, burstSize: u32 }),
  DSCP_REMARK: record<BandOf<'DSCP_REMARK'>>({ type: literal('DSCP_REMARK'), rate: u32, burstSize: u32, precLevel: u8 }),
  EXPERIMENTER: record<BandOf<'EXPERIMENTER'>>({
    type: literal('EXPERIMENTER'), rate: u32, burstSize: u32, experimenter: u32, data: hex,
  }),
});
const meterBands = arrayOf(meterBand);

type QueuePropOf<N extends T.QueueProperty['property']> = Extract<T.QueueProperty, { property: N }>;
const queueProperty: Codec<T.QueueProperty> = union<T.QueueProperty, 'property'>('queue', 'property', {
  MIN_RATE: record<QueuePropOf<'MIN_RATE'>>({ property: literal('MIN_RATE'), rate: u16 }),
  MAX_RATE: record<QueuePropOf<'MAX_RATE'>>({ property: literal('MAX_RATE'), rate: u16 }),
  EXPERIMENTER: record<QueuePropOf<'EXPERIMENTER'>>({ property: literal('EXPERIMENTER'), experimenter: u32, data: hex }),
});
const packetQueue = record<T.PacketQueue>({ queueId: u32, port: u32, properties: arrayOf(queueProperty) });

// ---------------------------------------------------------------------------------------------
// Multipart bodies

const flowSelection = {
  tableId: u8,
  outPort: u32,
  outGroup: u32,
  cookie: u64,
  cookieMask: u64,
  match,
};

const INSTRUCTION_NAMES = Object.keys(InstructionTypeCode) as T.InstructionType[];
const ACTION_NAMES = Object.keys(ActionTypeCode) as T.ActionType[];

const instructionId = record<T.InstructionId>({
  type: nameOrCode(INSTRUCTION_NAMES, 16),
  experimenter: opt(u32),
  data: opt(hex),
});
const actionId = record<T.ActionId>({
  type: nameOrCode(ACTION_NAMES, 16),
  experimenter: opt(u32),
  data: opt(hex),
});
type OxmIdBasic = Extract<T.OxmId, { field: T.OxmFieldName }>;
type OxmIdOpaque = Extract<T.OxmId, { field: 'opaque' }>;
const oxmIdOpaque = record<OxmIdOpaque>({
  field: literal('opaque'),
  oxmClass: u16,
  oxmField: uint(7),
  hasMask: bool,
  length: u8,
  experimenter: opt(u32),
});
const oxmIdBasic = record<OxmIdBasic>({ field: oneOf(OXM_FIELD_NAMES), hasMask: bool, length: u8 });
/** An OXM id names a basic field like a match does, or keeps the header's numbers ('opaque'). */
const oxmId: Codec<T.OxmId> = {
  expected: 'an OXM id object',
  toJson: (v, path) => (isObject(v) && v.field === 'opaque' ? oxmIdOpaque : oxmIdBasic).toJson(v as never, path),
  fromJson: (v, path) => (isObject(v) && v.field === 'opaque' ? oxmIdOpaque : oxmIdBasic).fromJson(v, path),
};

type PropOf<N extends T.TableFeatureProperty['type']> = VariantOf<T.TableFeatureProperty, 'type', N>;
const instructionsProp = record<PropOf<'INSTRUCTIONS'>>({
  type: oneOf(['INSTRUCTIONS', 'INSTRUCTIONS_MISS'] as const),
  instructionIds: arrayOf(instructionId),
});
const nextTablesProp = record<PropOf<'NEXT_TABLES'>>({
  type: oneOf(['NEXT_TABLES', 'NEXT_TABLES_MISS'] as const),
  tableIds: arrayOf(u8),
});
const actionsProp = record<PropOf<'WRITE_ACTIONS'>>({
  type: oneOf(['WRITE_ACTIONS', 'WRITE_ACTIONS_MISS', 'APPLY_ACTIONS', 'APPLY_ACTIONS_MISS'] as const),
  actionIds: arrayOf(actionId),
});
const oxmProp = record<PropOf<'MATCH'>>({
  type: oneOf([
    'MATCH', 'WILDCARDS', 'WRITE_SETFIELD', 'WRITE_SETFIELD_MISS', 'APPLY_SETFIELD', 'APPLY_SETFIELD_MISS',
  ] as const),
  oxmIds: arrayOf(oxmId),
});
const experimenterProp = record<PropOf<'EXPERIMENTER'>>({
  type: oneOf(['EXPERIMENTER', 'EXPERIMENTER_MISS'] as const),
  experimenter: u32,
  expType: u32,
  data: hex,
});

const tableFeatureProperty = union<T.TableFeatureProperty, 'type'>('table feature property', 'type', {
  INSTRUCTIONS: instructionsProp,
  INSTRUCTIONS_MISS: instructionsProp,
  NEXT_TABLES: nextTablesProp,
  NEXT_TABLES_MISS: nextTablesProp,
  WRITE_ACTIONS: actionsProp,
  WRITE_ACTIONS_MISS: actionsProp,
  APPLY_ACTIONS: actionsProp,
  APPLY_ACTIONS_MISS: actionsProp,
  MATCH: oxmProp,
  WILDCARDS: oxmProp,
  WRITE_SETFIELD: oxmProp,
  WRITE_SETFIELD_MISS: oxmProp,
  APPLY_SETFIELD: oxmProp,
  APPLY_SETFIELD_MISS: oxmProp,
  EXPERIMENTER: experimenterProp,
  EXPERIMENTER_MISS: experimenterProp,
  UNKNOWN: record<PropOf<'UNKNOWN'>>({ type: literal('UNKNOWN'), code: u16, data: hex }),
});

const tableFeatures = record<T.TableFeatures>({
  tableId: u8,
  name: text(32),
  metadataMatch: u64,
  metadataWrite: u64,
  config: u32,
  maxEntries: u32,
  properties: arrayOf(tableFeatureProperty),
});

type ReqOf<N extends T.MultipartKind> = Extract<T.MultipartRequestBody, { kind: N }>;
type RepOf<N extends T.MultipartKind> = Extract<T.MultipartReplyBody, { kind: N }>;

const multipartRequestBody = union<T.MultipartRequestBody, 'kind'>('multipart request', 'kind', {
  DESC: record<ReqOf<'DESC'>>({ kind: literal('DESC') }),
  FLOW: record<ReqOf<'FLOW'>>({ kind: literal('FLOW'), ...flowSelection }),
  AGGREGATE: record<ReqOf<'AGGREGATE'>>({ kind: literal('AGGREGATE'), ...flowSelection }),
  TABLE: record<ReqOf<'TABLE'>>({ kind: literal('TABLE') }),
  PORT_STATS: record<ReqOf<'PORT_STATS'>>({ kind: literal('PORT_STATS'), portNo: u32 }),
  QUEUE: record<ReqOf<'QUEUE'>>({ kind: literal('QUEUE'), portNo: u32, queueId: u32 }),
  GROUP: record<ReqOf<'GROUP'>>({ kind: literal('GROUP'), groupId: u32 }),
  GROUP_DESC: record<ReqOf<'GROUP_DESC'>>({ kind: literal('GROUP_DESC') }),
  GROUP_FEATURES: record<ReqOf<'GROUP_FEATURES'>>({ kind: literal('GROUP_FEATURES') }),
  METER: record<ReqOf<'METER'>>({ kind: literal('METER'), meterId: u32 }),
  METER_CONFIG: record<ReqOf<'METER_CONFIG'>>({ kind: literal('METER_CONFIG'), meterId: u32 }),
  METER_FEATURES: record<ReqOf<'METER_FEATURES'>>({ kind: literal('METER_FEATURES') }),
  TABLE_FEATURES: record<ReqOf<'TABLE_FEATURES'>>({ kind: literal('TABLE_FEATURES'), tables: arrayOf(tableFeatures) }),
  PORT_DESC: record<ReqOf<'PORT_DESC'>>({ kind: literal('PORT_DESC') }),
  EXPERIMENTER: record<ReqOf<'EXPERIMENTER'>>({ kind: literal('EXPERIMENTER'), experimenter: u32, expType: u32, data: hex }),
});

const flowStats = record<T.FlowStats>({
  tableId: u8,
  durationSec: u32,
  durationNsec: u32,
  priority: u16,
  idleTimeout: u16,
  hardTimeout: u16,
  flags: u16,
  cookie: u64,
  packetCount: u64,
  byteCount: u64,
  match,
  instructions,
});

const portStats = record<T.PortStats>({
  portNo: u32,
  rxPackets: u64,
  txPackets: u64,
  rxBytes: u64,
  txBytes: u64,
  rxDropped: u64,
  txDropped: u64,
  rxErrors: u64,
  txErrors: u64,
  rxFrameErr: u64,
  rxOverErr: u64,
  rxCrcErr: u64,
  collisions: u64,
  durationSec: u32,
  durationNsec: u32,
});

const multipartReplyBody = union<T.MultipartReplyBody, 'kind'>('multipart reply', 'kind', {
  DESC: record<RepOf<'DESC'>>({
    kind: literal('DESC'), mfrDesc: text(256), hwDesc: text(256), swDesc: text(256), serialNum: text(32), dpDesc: text(256),
  }),
  FLOW: record<RepOf<'FLOW'>>({ kind: literal('FLOW'), flows: arrayOf(flowStats) }),
  AGGREGATE: record<RepOf<'AGGREGATE'>>({ kind: literal('AGGREGATE'), packetCount: u64, byteCount: u64, flowCount: u32 }),
  TABLE: record<RepOf<'TABLE'>>({
    kind: literal('TABLE'),
    tables: arrayOf(record<T.TableStats>({ tableId: u8, activeCount: u32, lookupCount: u64, matchedCount: u64 })),
  }),
  PORT_STATS: record<RepOf<'PORT_STATS'>>({ kind: literal('PORT_STATS'), ports: arrayOf(portStats) }),
  QUEUE: record<RepOf<'QUEUE'>>({
    kind: literal('QUEUE'),
    queues: arrayOf(record<T.QueueStats>({
      portNo: u32, queueId: u32, txBytes: u64, txPackets: u64, txErrors: u64, durationSec: u32, durationNsec: u32,
    })),
  }),
  GROUP: record<RepOf<'GROUP'>>({
    kind: literal('GROUP'),
    groups: arrayOf(record<T.GroupStats>({
      groupId: u32,
      refCount: u32,
      packetCount: u64,
      byteCount: u64,
      durationSec: u32,
      durationNsec: u32,
      bucketStats: arrayOf(record<T.BucketCounter>({ packetCount: u64, byteCount: u64 })),
    })),
  }),
  GROUP_DESC: record<RepOf<'GROUP_DESC'>>({
    kind: literal('GROUP_DESC'),
    groups: arrayOf(record<T.GroupDesc>({
      groupType: oneOf(Object.keys(GroupDescTypeCode) as T.GroupDescType[]),
      groupId: u32,
      buckets,
    })),
  }),
  GROUP_FEATURES: record<RepOf<'GROUP_FEATURES'>>({
    kind: literal('GROUP_FEATURES'),
    types: u32,
    capabilities: u32,
    maxGroups: tuple(u32, 4),
    actions: tuple(u32, 4),
  }),
  METER: record<RepOf<'METER'>>({
    kind: literal('METER'),
    meters: arrayOf(record<T.MeterStats>({
      meterId: u32,
      flowCount: u32,
      packetInCount: u64,
      byteInCount: u64,
      durationSec: u32,
      durationNsec: u32,
      bandStats: arrayOf(record<T.MeterBandStats>({ packetBandCount: u64, byteBandCount: u64 })),
    })),
  }),
  METER_CONFIG: record<RepOf<'METER_CONFIG'>>({
    kind: literal('METER_CONFIG'),
    meters: arrayOf(record<T.MeterConfig>({ flags: u16, meterId: u32, bands: meterBands })),
  }),
  METER_FEATURES: record<RepOf<'METER_FEATURES'>>({
    kind: literal('METER_FEATURES'), maxMeter: u32, bandTypes: u32, capabilities: u32, maxBands: u8, maxColor: u8,
  }),
  TABLE_FEATURES: record<RepOf<'TABLE_FEATURES'>>({ kind: literal('TABLE_FEATURES'), tables: arrayOf(tableFeatures) }),
  PORT_DESC: record<RepOf<'PORT_DESC'>>({ kind: literal('PORT_DESC'), ports: arrayOf(portDesc) }),
  EXPERIMENTER: record<RepOf<'EXPERIMENTER'>>({ kind: literal('EXPERIMENTER'), experimenter: u32, expType: u32, data: hex }),
});

// ---------------------------------------------------------------------------------------------
// Messages

type Msg<N extends MessageTypeName> = T.MessageOfType<N>;
/** `type` and `xid` open every message's JSON object. */
const head = <N extends MessageTypeName>(n: N) => ({ type: literal(n), xid: u32 });

const helloElement = union<T.HelloElement, 'type'>('hello element', 'type', {
  VERSIONBITMAP: record<T.HelloVersionBitmap>({ type: literal('VERSIONBITMAP'), versions: arrayOf(u8), words: opt(u16) }),
  UNKNOWN: record<T.HelloUnknownElement>({ type: literal('UNKNOWN'), elemType: u16, data: hex }),
});

const standardError = record<T.StandardErrorMessage>({
  ...head('ERROR'), version: u8, errorType: u16, code: u16, data: hex,
});
const experimenterError = record<T.ExperimenterErrorMessage>({
  ...head('ERROR'), version: u8, errorType: literal(0xffff), expType: u16, experimenter: u32, data: hex,
});
/**
 * The two ERROR layouts are told apart as on the wire: OFPET_EXPERIMENTER (0xffff) from a
 * peer of OpenFlow 1.2 or later has exp_type + experimenter where the others have a code.
 */
const isExperimenterError = (v: unknown): boolean =>
  isObject(v) && v.errorType === 0xffff && typeof v.version === 'number' && v.version >= 3;
const errorMessage: Codec<T.ErrorMessage> = {
  expected: 'an ERROR message object',
  toJson: (v, path) =>
    isExperimenterError(v)
      ? experimenterError.toJson(v as T.ExperimenterErrorMessage, path)
      : standardError.toJson(v as T.StandardErrorMessage, path),
  fromJson: (v, path) => (isExperimenterError(v) ? experimenterError.fromJson(v, path) : standardError.fromJson(v, path)),
};

const asyncConfig = {
  packetInMask: tuple<number, T.AsyncMaskPair>(u32, 2),
  portStatusMask: tuple<number, T.AsyncMaskPair>(u32, 2),
  flowRemovedMask: tuple<number, T.AsyncMaskPair>(u32, 2),
};

const messageCodec: Codec<T.Message> = union<T.Message, 'type'>('message', 'type', {
  HELLO: record<Msg<'HELLO'>>({ ...head('HELLO'), version: u8, elements: arrayOf(helloElement), data: opt(hex) }),
  ERROR: errorMessage,
  ECHO_REQUEST: record<Msg<'ECHO_REQUEST'>>({ ...head('ECHO_REQUEST'), data: hex }),
  ECHO_REPLY: record<Msg<'ECHO_REPLY'>>({ ...head('ECHO_REPLY'), data: hex }),
  EXPERIMENTER: record<Msg<'EXPERIMENTER'>>({ ...head('EXPERIMENTER'), experimenter: u32, expType: u32, data: hex }),
  FEATURES_REQUEST: record<Msg<'FEATURES_REQUEST'>>(head('FEATURES_REQUEST')),
  FEATURES_REPLY: record<Msg<'FEATURES_REPLY'>>({
    ...head('FEATURES_REPLY'), datapathId: u64, nBuffers: u32, nTables: u8, auxiliaryId: u8, capabilities: u32,
  }),
  GET_CONFIG_REQUEST: record<Msg<'GET_CONFIG_REQUEST'>>(head('GET_CONFIG_REQUEST')),
  GET_CONFIG_REPLY: record<Msg<'GET_CONFIG_REPLY'>>({ ...head('GET_CONFIG_REPLY'), flags: u16, missSendLen: u16 }),
  SET_CONFIG: record<Msg<'SET_CONFIG'>>({ ...head('SET_CONFIG'), flags: u16, missSendLen: u16 }),
  PACKET_IN: record<Msg<'PACKET_IN'>>({
    ...head('PACKET_IN'),
    bufferId: u32,
    totalLen: u16,
    reason: nameOrCode(PacketInReasonNames, 8),
    tableId: u8,
    cookie: u64,
    match,
    data: hex,
  }),
  FLOW_REMOVED: record<Msg<'FLOW_REMOVED'>>({
    ...head('FLOW_REMOVED'),
    cookie: u64,
    priority: u16,
    reason: nameOrCode(FlowRemovedReasonNames, 8),
    tableId: u8,
    durationSec: u32,
    durationNsec: u32,
    idleTimeout: u16,
    hardTimeout: u16,
    packetCount: u64,
    byteCount: u64,
    match,
  }),
  PORT_STATUS: record<Msg<'PORT_STATUS'>>({ ...head('PORT_STATUS'), reason: nameOrCode(PortReasonNames, 8), desc: portDesc }),
  PACKET_OUT: record<Msg<'PACKET_OUT'>>({ ...head('PACKET_OUT'), bufferId: u32, inPort: u32, actions, data: hex }),
  FLOW_MOD: record<Msg<'FLOW_MOD'>>({
    ...head('FLOW_MOD'),
    cookie: u64,
    cookieMask: u64,
    tableId: u8,
    command: oneOf(FlowModCommandNames),
    idleTimeout: u16,
    hardTimeout: u16,
    priority: u16,
    bufferId: u32,
    outPort: u32,
    outGroup: u32,
    flags: u16,
    match,
    instructions,
  }),
  GROUP_MOD: record<Msg<'GROUP_MOD'>>({
    ...head('GROUP_MOD'), command: oneOf(GroupModCommandNames), groupType: oneOf(GroupTypeNames), groupId: u32, buckets,
  }),
  PORT_MOD: record<Msg<'PORT_MOD'>>({
    ...head('PORT_MOD'), portNo: u32, hwAddr: mac, config: u32, mask: u32, advertise: u32,
  }),
  TABLE_MOD: record<Msg<'TABLE_MOD'>>({ ...head('TABLE_MOD'), tableId: u8, config: u32 }),
  MULTIPART_REQUEST: record<Msg<'MULTIPART_REQUEST'>>({ ...head('MULTIPART_REQUEST'), flags: u16, body: multipartRequestBody }),
  MULTIPART_REPLY: record<Msg<'MULTIPART_REPLY'>>({ ...head('MULTIPART_REPLY'), flags: u16, body: multipartReplyBody }),
  BARRIER_REQUEST: record<Msg<'BARRIER_REQUEST'>>(head('BARRIER_REQUEST')),
  BARRIER_REPLY: record<Msg<'BARRIER_REPLY'>>(head('BARRIER_REPLY')),
  QUEUE_GET_CONFIG_REQUEST: record<Msg<'QUEUE_GET_CONFIG_REQUEST'>>({ ...head('QUEUE_GET_CONFIG_REQUEST'), port: u32 }),
  QUEUE_GET_CONFIG_REPLY: record<Msg<'QUEUE_GET_CONFIG_REPLY'>>({
    ...head('QUEUE_GET_CONFIG_REPLY'), port: u32, queues: arrayOf(packetQueue),
  }),
  ROLE_REQUEST: record<Msg<'ROLE_REQUEST'>>({ ...head('ROLE_REQUEST'), role: oneOf(ControllerRoleNames), generationId: u64 }),
  ROLE_REPLY: record<Msg<'ROLE_REPLY'>>({ ...head('ROLE_REPLY'), role: oneOf(ControllerRoleNames), generationId: u64 }),
  GET_ASYNC_REQUEST: record<Msg<'GET_ASYNC_REQUEST'>>(head('GET_ASYNC_REQUEST')),
  GET_ASYNC_REPLY: record<Msg<'GET_ASYNC_REPLY'>>({ ...head('GET_ASYNC_REPLY'), ...asyncConfig }),
  SET_ASYNC: record<Msg<'SET_ASYNC'>>({ ...head('SET_ASYNC'), ...asyncConfig }),
  METER_MOD: record<Msg<'METER_MOD'>>({
    ...head('METER_MOD'), command: oneOf(MeterModCommandNames), flags: u16, meterId: u32, bands: meterBands,
  }),
});

/** Every message type name, in wire-code order (for docs and tests). */
export const messageTypeNames: readonly MessageTypeName[] = (Object.keys(MessageTypeCode) as MessageTypeName[]).sort(
  (a, b) => MessageTypeCode[a] - MessageTypeCode[b],
);

/** Every multipart kind (for docs and tests). */
export const multipartKinds: readonly T.MultipartKind[] = Object.keys(MultipartTypeCode) as T.MultipartKind[];
