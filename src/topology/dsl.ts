/**
 * Importer for the ViNO paper's topology DSL (a Python file of literal assignments):
 *
 *     nodes['sw1'] = {'contr_addr': '10.12.11.26:6633', 'region': 'CORE', 'flavor': 'm1.small',
 *                     'bridge_name': 'sw1_br', 'int_ip': ('p1', '192.168.200.18')}
 *     nodes['h1'] = {'region': 'CORE', 'flavor': 'm1.tiny'}
 *     topology['sw1'] = [('h1', '192.168.200.10', 'h1_br')]
 *     topology['sw2'] = ['sw1', ('h2', '192.168.200.11')]
 *
 * The file is tokenized and parsed here, never executed: only the literal subset is accepted
 * (`nodes[...] = ...` and `topology[...] = ...` assignments, `nodes = {}` / `topology = {}`
 * initialisations, string / number / True / False / None literals, dicts, lists, tuples,
 * comments, blank lines, implicit and backslash line joining). Anything else is refused with
 * its line and column.
 */
import { analyzeTopology } from './analyze.js';
import { DEFAULT_CONTROLLER, DEFAULT_OVERLAY_SUBNET, TOPOLOGY_NAME_PATTERN, type TopologyFileInput } from './schema.js';
import { formatPath, type PathSegment, type Problem, type SourcePosition } from './problems.js';
import { parsePath } from './load.js';

export class DslSyntaxError extends Error {
  constructor(
    readonly at: SourcePosition,
    message: string,
  ) {
    super(message);
    this.name = 'DslSyntaxError';
  }
}

// ---------------------------------------------------------------- tokens

type TokenKind = 'name' | 'string' | 'number' | 'op' | 'newline' | 'eof';

interface Token {
  kind: TokenKind;
  /** Identifier, decoded string, number text or operator character. */
  text: string;
  at: SourcePosition;
}

const OPERATORS = new Set(['[', ']', '{', '}', '(', ')', ',', ':', '=', '-', '+']);

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of file';
    case 'newline':
      return 'end of line';
    case 'string':
      return `string ${JSON.stringify(t.text)}`;
    case 'op':
      return `'${t.text}'`;
    default:
      return `"${t.text}"`;
  }
}

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  // Open brackets: newlines inside them do not end a statement.
  const open: { ch: string; at: SourcePosition }[] = [];
  const pos = (at = i): SourcePosition => ({ line, column: at - lineStart + 1 });
  const fail = (message: string, at = pos()): never => {
    throw new DslSyntaxError(at, message);
  };
  const newline = (len: number) => {
    i += len;
    line++;
    lineStart = i;
  };
  if (src.charCodeAt(0) === 0xfeff) i = lineStart = 1;

  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n' || c === '\r') {
      if (open.length === 0 && tokens.length > 0 && tokens[tokens.length - 1]!.kind !== 'newline') tokens.push({ kind: 'newline', text: '', at: pos() });
      newline(c === '\r' && src[i + 1] === '\n' ? 2 : 1);
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\f') {
      const atLineStart = i === lineStart;
      const start = i;
      while (src[i] === ' ' || src[i] === '\t' || src[i] === '\f') i++;
      const next = src[i];
      // Python refuses indented statements; blank and comment-only lines are fine.
      if (atLineStart && open.length === 0 && next !== undefined && next !== '#' && next !== '\n' && next !== '\r' && next !== '\\') {
        const prev = tokens[tokens.length - 1];
        if (prev === undefined || prev.kind === 'newline') fail('unexpected indentation (statements start in column 1)', pos(start));
      }
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n' && src[i] !== '\r') i++;
      continue;
    }
    if (c === '\\') {
      // Explicit line joining: a backslash must end the line.
      if (src[i + 1] === '\n') newline(2);
      else if (src[i + 1] === '\r') newline(src[i + 2] === '\n' ? 3 : 2);
      else fail("unexpected '\\' (a backslash outside a string must end the line)");
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i]!)) i++;
      const word = src.slice(start, i);
      const quote = src[i];
      if ((quote === "'" || quote === '"') && /^[uUrRbBfF]{1,2}$/.test(word)) {
        const prefix = word.toLowerCase();
        if (prefix.includes('b') || prefix.includes('f')) fail(`${prefix.includes('b') ? 'bytes' : 'f-string'} literals are not supported`, pos(start));
        tokens.push({ kind: 'string', text: readString(prefix.includes('r')), at: pos(start) });
        continue;
      }
      tokens.push({ kind: 'name', text: word, at: pos(start) });
      continue;
    }
    if (c === "'" || c === '"') {
      const at = pos();
      tokens.push({ kind: 'string', text: readString(false), at });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(0[xX][0-9A-Fa-f_]+|0[oO][0-7_]+|0[bB][01_]+|([0-9][0-9_]*)?\.?[0-9_]*([eE][+-]?[0-9_]+)?)/.exec(src.slice(i, i + 100))!;
      const text = m[0];
      const after = src[i + text.length];
      if (after !== undefined && /[A-Za-z0-9_.]/.test(after)) fail(`malformed number "${src.slice(i, i + text.length + 1)}"`);
      tokens.push({ kind: 'number', text, at: pos() });
      i += text.length;
      continue;
    }
    if (c === '[' || c === '{' || c === '(') {
      open.push({ ch: c, at: pos() });
    } else if (c === ']' || c === '}' || c === ')') {
      const want = { ']': '[', '}': '{', ')': '(' }[c];
      const top = open.pop();
      if (!top) fail(`'${c}' without a matching '${want}'`);
      else if (top.ch !== want) fail(`'${c}' does not close the '${top.ch}' opened at line ${top.at.line}, column ${top.at.column}`);
    }
    if (OPERATORS.has(c) || /[!-\/:-@[-`{-~]/.test(c)) {
      // Punctuation the parser does not know (".", ";", "*", ...) becomes a token anyway so that
      // the error names the statement it breaks, in file order.
      tokens.push({ kind: 'op', text: c, at: pos() });
      i++;
      continue;
    }
    fail(`unexpected character ${JSON.stringify(c)}`);
  }
  const unclosed = open.pop();
  if (unclosed) fail(`'${unclosed.ch}' opened here is never closed`, unclosed.at);
  if (tokens.length > 0 && tokens[tokens.length - 1]!.kind !== 'newline') tokens.push({ kind: 'newline', text: '', at: pos() });
  tokens.push({ kind: 'eof', text: '', at: pos() });
  return tokens;

  function readString(raw: boolean): string {
    const start = pos();
    const q = src[i]!;
    if (src.startsWith(q.repeat(3), i)) fail('triple-quoted strings are not supported');
    i++;
    let out = '';
    for (;;) {
      if (i >= src.length || src[i] === '\n' || src[i] === '\r') fail('unterminated string', start);
      const ch = src[i]!;
      if (ch === q) {
        i++;
        return out;
      }
      if (ch !== '\\') {
        out += ch;
        i++;
        continue;
      }
      const e = src[i + 1];
      if (e === '\n' || e === '\r') {
        // backslash-newline inside a string continues it on the next line
        newline(e === '\r' && src[i + 2] === '\n' ? 3 : 2);
        if (raw) out += '\\\n';
        continue;
      }
      if (raw) {
        out += ch + (e ?? '');
        i += 2;
        continue;
      }
      const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };
      if (e !== undefined && e in simple) {
        out += simple[e];
        i += 2;
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = src.slice(i + 2, i + 2 + len);
        if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) fail(`bad \\${e} escape (expected ${len} hex digits)`);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) fail(`bad \\${e} escape (code point out of range)`);
        out += String.fromCodePoint(cp);
        i += 2 + len;
      } else {
        // Python keeps unknown escapes as written.
        out += '\\';
        i += 1;
      }
    }
  }
}

// ---------------------------------------------------------------- values

export type PyValue =
  | { kind: 'str'; value: string; at: SourcePosition }
  | { kind: 'num'; value: number; at: SourcePosition }
  | { kind: 'const'; value: boolean | null; at: SourcePosition }
  | { kind: 'dict'; entries: [PyValue, PyValue][]; at: SourcePosition }
  | { kind: 'list'; items: PyValue[]; at: SourcePosition }
  | { kind: 'tuple'; items: PyValue[]; at: SourcePosition };

export interface DslAssignment {
  /** `nodes` or `topology`. */
  target: 'nodes' | 'topology';
  key: string;
  keyAt: SourcePosition;
  value: PyValue;
  at: SourcePosition;
}

function typeName(v: PyValue): string {
  switch (v.kind) {
    case 'str':
      return `string ${JSON.stringify(v.value)}`;
    case 'num':
      return `number ${v.value}`;
    case 'const':
      return v.value === null ? 'None' : v.value ? 'True' : 'False';
    default:
      return v.kind;
  }
}

function pyNumber(text: string): number {
  const t = text.replace(/_/g, '');
  if (/^0[xXoObB]/.test(t)) return Number(t.toLowerCase());
  return Number(t);
}

const MAX_DEPTH = 64;

/** Parses the statements of a DSL file (syntax only). */
export function parseDsl(src: string): DslAssignment[] {
  const tokens = tokenize(src);
  let p = 0;
  const peek = () => tokens[p]!;
  const next = () => tokens[p++]!;
  const fail = (message: string, t: Token = peek()): never => {
    throw new DslSyntaxError(t.at, message);
  };
  const expectOp = (op: string, context: string) => {
    const t = next();
    if (t.kind !== 'op' || t.text !== op) fail(`expected '${op}' ${context}, got ${describe(t)}`, t);
    return t;
  };
  const isOp = (op: string) => peek().kind === 'op' && peek().text === op;

  let depth = 0;
  const value = (): PyValue => {
    if (++depth > MAX_DEPTH) fail(`literal nested deeper than ${MAX_DEPTH} levels`);
    try {
      return literal();
    } finally {
      depth--;
    }
  };
  const literal = (): PyValue => {
    const t = next();
    if (t.kind === 'string') {
      let s = t.text;
      while (peek().kind === 'string') s += next().text; // 'a' 'b' == 'ab', as in Python
      return { kind: 'str', value: s, at: t.at };
    }
    if (t.kind === 'number') return { kind: 'num', value: pyNumber(t.text), at: t.at };
    if (t.kind === 'op' && (t.text === '-' || t.text === '+')) {
      const n = next();
      if (n.kind !== 'number') fail(`expected a number after '${t.text}', got ${describe(n)}`, n);
      return { kind: 'num', value: (t.text === '-' ? -1 : 1) * pyNumber(n.text), at: t.at };
    }
    if (t.kind === 'name') {
      if (t.text === 'True') return { kind: 'const', value: true, at: t.at };
      if (t.text === 'False') return { kind: 'const', value: false, at: t.at };
      if (t.text === 'None') return { kind: 'const', value: null, at: t.at };
      return fail(`"${t.text}" is not a literal (names, calls and expressions are not supported; only literal values)`, t);
    }
    if (t.kind === 'op' && t.text === '{') {
      const entries: [PyValue, PyValue][] = [];
      while (!isOp('}')) {
        const k = value();
        expectOp(':', 'after a dict key');
        entries.push([k, value()]);
        if (!isOp('}')) expectOp(',', 'or \'}\' after a dict entry');
      }
      next();
      return { kind: 'dict', entries, at: t.at };
    }
    if (t.kind === 'op' && t.text === '[') {
      const items: PyValue[] = [];
      while (!isOp(']')) {
        items.push(value());
        if (!isOp(']')) expectOp(',', "or ']' after a list item");
      }
      next();
      return { kind: 'list', items, at: t.at };
    }
    if (t.kind === 'op' && t.text === '(') {
      const items: PyValue[] = [];
      let comma = false;
      while (!isOp(')')) {
        items.push(value());
        if (!isOp(')')) {
          expectOp(',', "or ')' after a tuple item");
          comma = true;
        }
      }
      next();
      // (x) is x; (x,) and (x, y) are tuples.
      if (items.length === 1 && !comma) return items[0]!;
      return { kind: 'tuple', items, at: t.at };
    }
    return fail(`expected a value, got ${describe(t)}`, t);
  };

  const out: DslAssignment[] = [];
  while (peek().kind !== 'eof') {
    if (peek().kind === 'newline') {
      next();
      continue;
    }
    const target = next();
    if (target.kind !== 'name') fail(`expected nodes[...] = ... or topology[...] = ..., got ${describe(target)}`, target);
    if (target.text !== 'nodes' && target.text !== 'topology') {
      fail(`unknown name "${target.text}" (only nodes[...] and topology[...] assignments are understood)`, target);
    }
    if (isOp('=')) {
      // nodes = {} / topology = {}: harmless initialisation, common at the top of DSL files.
      next();
      const v = value();
      if (v.kind !== 'dict' || v.entries.length !== 0) fail(`only "${target.text} = {}" may assign ${target.text} as a whole`, target);
    } else {
      expectOp('[', `after "${target.text}"`);
      const key = next();
      if (key.kind !== 'string') fail(`expected a quoted name inside ${target.text}[...], got ${describe(key)}`, key);
      expectOp(']', `after ${target.text}['${key.text}'`);
      expectOp('=', `after ${target.text}['${key.text}']`);
      out.push({ target: target.text as 'nodes' | 'topology', key: key.text, keyAt: key.at, value: value(), at: target.at });
    }
    const end = next();
    if (end.kind !== 'newline' && end.kind !== 'eof') fail(`expected end of line after the assignment, got ${describe(end)}`, end);
  }
  return out;
}

// ---------------------------------------------------------------- conversion

export interface DslImportOptions {
  /** Topology name. Default: from `sourceName` (file name without extension), else "imported". */
  name?: string;
  /** Overlay subnet. Default: 192.168.200.0/24 (the paper's). */
  overlaySubnet?: string;
  /** File name, for the default name and the description. */
  sourceName?: string;
}

export type DslImportResult =
  | { ok: true; file: TopologyFileInput }
  | { ok: false; problems: Problem[] };

const NODE_KEYS = ['contr_addr', 'region', 'flavor', 'bridge_name', 'int_ip'];

interface NodeInfo {
  name: string;
  at: SourcePosition;
  fields: Map<string, PyValue>;
}

/** Positions of the DSL text that produced each part of the JSON, to report problems there. */
class Origins {
  private readonly map = new Map<string, SourcePosition>();
  set(path: readonly PathSegment[], at: SourcePosition): void {
    this.map.set(formatPath(path), at);
  }
  find(path: readonly PathSegment[]): SourcePosition | undefined {
    for (let n = path.length; n >= 0; n--) {
      const at = this.map.get(formatPath(path.slice(0, n)));
      if (at) return at;
    }
    return undefined;
  }
}

function defaultName(sourceName: string | undefined): string {
  const base = (sourceName ?? '').replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');
  const cleaned = base.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[.-]+/, '').slice(0, 64);
  return new RegExp(TOPOLOGY_NAME_PATTERN).test(cleaned) ? cleaned : 'imported';
}

/**
 * Converts DSL text to a topology file (JSON value) and validates it. Syntax errors and
 * problems of the result are reported with the DSL line and column they come from.
 */
export function importDsl(src: string, options: DslImportOptions = {}): DslImportResult {
  let statements: DslAssignment[];
  try {
    statements = parseDsl(src);
  } catch (e) {
    if (e instanceof DslSyntaxError) return { ok: false, problems: [{ path: '', message: e.message, at: e.at }] };
    throw e;
  }

  const problems: Problem[] = [];
  const err = (at: SourcePosition, message: string) => problems.push({ path: '', message, at });
  const str = (v: PyValue, what: string): string | undefined => {
    if (v.kind === 'str') return v.value;
    err(v.at, `${what} must be a string, got ${typeName(v)}`);
    return undefined;
  };

  const nodes = new Map<string, NodeInfo>();
  const topo: DslAssignment[] = [];
  const seenTopo = new Map<string, SourcePosition>();
  for (const s of statements) {
    if (s.target === 'nodes') {
      const prior = nodes.get(s.key);
      if (prior) {
        err(s.at, `nodes['${s.key}'] is assigned twice (first at line ${prior.at.line})`);
        continue;
      }
      if (s.value.kind !== 'dict') {
        err(s.value.at, `nodes['${s.key}'] must be a dict, got ${typeName(s.value)}`);
        continue;
      }
      const fields = new Map<string, PyValue>();
      for (const [k, v] of s.value.entries) {
        const key = str(k, `a key of nodes['${s.key}']`);
        if (key === undefined) continue;
        if (!NODE_KEYS.includes(key)) err(k.at, `unknown key '${key}' in nodes['${s.key}'] (known: ${NODE_KEYS.join(', ')})`);
        else if (fields.has(key)) err(k.at, `key '${key}' appears twice in nodes['${s.key}']`);
        else fields.set(key, v);
      }
      nodes.set(s.key, { name: s.key, at: s.at, fields });
    } else {
      const prior = seenTopo.get(s.key);
      if (prior) {
        err(s.at, `topology['${s.key}'] is assigned twice (first at line ${prior.line})`);
        continue;
      }
      seenTopo.set(s.key, s.at);
      if (s.value.kind !== 'list') {
        err(s.value.at, `topology['${s.key}'] must be a list, got ${typeName(s.value)}`);
        continue;
      }
      topo.push(s);
    }
  }

  // Kinds: named in topology[...] or as a bare list entry -> switch; first element of a tuple
  // entry -> host. A node mentioned nowhere is a switch if it has a controller address.
  const kindAt = new Map<string, { kind: 'switch' | 'host'; at: SourcePosition }>();
  const mark = (name: string, kind: 'switch' | 'host', at: SourcePosition) => {
    const prior = kindAt.get(name);
    if (prior && prior.kind !== kind) {
      err(at, `"${name}" is used as a ${kind} here but as a ${prior.kind} at line ${prior.at.line}, column ${prior.at.column}`);
    } else if (!prior) {
      kindAt.set(name, { kind, at });
    }
  };
  interface Entry {
    sw: string;
    peer?: string;
    host?: string;
    ip?: string;
    bridge?: string;
    at: SourcePosition;
  }
  const entries: Entry[] = [];
  for (const s of topo) {
    mark(s.key, 'switch', s.keyAt);
    for (const item of (s.value as { items: PyValue[] }).items) {
      if (item.kind === 'str') {
        mark(item.value, 'switch', item.at);
        entries.push({ sw: s.key, peer: item.value, at: item.at });
      } else if (item.kind === 'tuple' && (item.items.length === 2 || item.items.length === 3)) {
        const [h, ip, br] = item.items;
        const host = str(h!, 'the host name of a topology entry');
        const addr = str(ip!, 'the overlay IP of a topology entry');
        const bridge = br === undefined ? undefined : str(br, 'the bridge name of a topology entry');
        if (host === undefined || addr === undefined || (br !== undefined && bridge === undefined)) continue;
        mark(host, 'host', h!.at);
        entries.push({ sw: s.key, host, ip: addr, at: item.at, ...(bridge !== undefined ? { bridge } : {}) });
      } else {
        err(item.at, `a topology['${s.key}'] entry must be a switch name or a tuple (host, overlay_ip[, bridge]), got ${typeName(item)}${item.kind === 'tuple' ? ` of ${item.items.length}` : ''}`);
      }
    }
  }

  const origins = new Origins();
  const outNodes: Record<string, Record<string, unknown>> = {};
  let controller: string | undefined;
  for (const n of nodes.values()) {
    const f = n.fields;
    const kind = kindAt.get(n.name)?.kind ?? (f.has('contr_addr') ? 'switch' : 'host');
    const path = ['nodes', n.name];
    origins.set(path, n.at);
    const node: Record<string, unknown> = { kind };
    const copy = (dslKey: string, jsonKey: string) => {
      const v = f.get(dslKey);
      if (v === undefined) return;
      const text = str(v, `nodes['${n.name}']['${dslKey}']`);
      if (text === undefined) return;
      node[jsonKey] = text;
      origins.set([...path, jsonKey], v.at);
    };
    copy('region', 'region');
    copy('flavor', 'flavor');
    copy('bridge_name', 'bridge');
    const intIp = f.get('int_ip');
    if (intIp !== undefined) {
      if (kind !== 'switch') {
        err(intIp.at, `'int_ip' is for switches, but "${n.name}" is a host (a host's overlay address is in its topology entry)`);
      } else if (intIp.kind !== 'tuple' || intIp.items.length !== 2) {
        err(intIp.at, `nodes['${n.name}']['int_ip'] must be a tuple (port_name, ip), got ${typeName(intIp)}`);
      } else {
        const name = str(intIp.items[0]!, `the port name in nodes['${n.name}']['int_ip']`);
        const ip = str(intIp.items[1]!, `the IP in nodes['${n.name}']['int_ip']`);
        if (name !== undefined && ip !== undefined) {
          node['internal_port'] = { name, ip };
          origins.set([...path, 'internal_port'], intIp.at);
          origins.set([...path, 'internal_port', 'name'], intIp.items[0]!.at);
          origins.set([...path, 'internal_port', 'ip'], intIp.items[1]!.at);
        }
      }
    }
    const ctl = f.get('contr_addr');
    if (ctl !== undefined) {
      const text = str(ctl, `nodes['${n.name}']['contr_addr']`);
      if (text !== undefined) {
        // The first switch's address becomes the topology's; others override per node.
        if (controller === undefined) {
          controller = text;
          origins.set(['controller'], ctl.at);
        }
        if (text !== controller) {
          node['controller'] = text;
          origins.set([...path, 'controller'], ctl.at);
        }
      }
    }
    outNodes[n.name] = node;
  }

  const links: Record<string, unknown>[] = [];
  const switchPairs = new Set<string>();
  for (const e of entries) {
    const index = links.length;
    if (e.peer !== undefined) {
      // Adjacency-list style: sw1 listing sw2 and sw2 listing sw1 describe one link.
      const key = [e.sw, e.peer].sort().join('\0');
      if (e.sw !== e.peer && switchPairs.has(key)) continue;
      switchPairs.add(key);
      links.push({ switch: e.sw, peer: e.peer });
      origins.set(['links', index], e.at);
    } else {
      links.push({ switch: e.sw, host: e.host, overlay_ip: e.ip });
      origins.set(['links', index], e.at);
      if (e.bridge !== undefined) {
        const host = outNodes[e.host!];
        if (host) {
          if (host['bridge'] !== undefined && host['bridge'] !== e.bridge) {
            err(e.at, `bridge "${e.bridge}" of host "${e.host}" differs from its bridge_name "${String(host['bridge'])}"`);
          } else {
            host['bridge'] = e.bridge;
            origins.set(['nodes', e.host!, 'bridge'], e.at);
          }
        }
      }
    }
  }

  if (problems.length > 0) return { ok: false, problems };

  const file: TopologyFileInput = {
    name: options.name ?? defaultName(options.sourceName),
    ...(options.sourceName ? { description: `Imported from ${options.sourceName.replace(/^.*[\\/]/, '')} (ViNO topology DSL).` } : {}),
    controller: controller ?? DEFAULT_CONTROLLER,
    overlay_subnet: options.overlaySubnet ?? DEFAULT_OVERLAY_SUBNET,
    nodes: outNodes as TopologyFileInput['nodes'],
    links: links as TopologyFileInput['links'],
    containers: {},
  };
  const analysis = analyzeTopology(file);
  if (analysis.problems.length > 0) {
    return {
      ok: false,
      problems: analysis.problems.map((p) => {
        const at = origins.find(parsePath(p.path));
        return at ? { ...p, at } : p;
      }),
    };
  }
  return { ok: true, file };
}
