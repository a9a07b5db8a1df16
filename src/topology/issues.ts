/**
 * zod issues -> Problems with messages a network engineer can act on: "required", "expected a
 * number, got string "10"", "unknown key "bridgee" (allowed: ...)". Unions are resolved to the
 * branch the input was meant to be (a link with "host" is a switch-host link) so that the
 * problems are those of that branch, not a generic "invalid input".
 */
import type { z } from 'zod';
import { formatPath, type PathSegment, type Problem } from './problems.js';
import { HostLink, Link, SwitchLink, TopologyFileSchema } from './schema.js';

type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = Object.prototype.hasOwnProperty.call(v, seg) ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
  }
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `string "abc"`, `number 5`, `an array`, ... for "got ..." messages. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
    case 'number':
      return `number ${v}`;
    case 'boolean':
      return String(v);
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  record: 'an object',
};

/** The switch-host or switch-switch branch a link object was meant to be, or a reason it is neither. */
function linkBranch(raw: unknown): AnySchema | string {
  if (!isPlainObject(raw)) return `expected an object, got ${describeValue(raw)}`;
  const hasHost = 'host' in raw;
  const hasPeer = 'peer' in raw;
  if (hasHost && hasPeer) return 'a link has either "host" (switch-host link) or "peer" (switch-switch link), not both';
  if (hasHost) return HostLink;
  if (hasPeer) return SwitchLink;
  return 'a link needs "host" (switch-host link) or "peer" (switch-switch link)';
}

function def(schema: AnySchema): Record<string, unknown> {
  return (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
}

/** Unwraps optional/default/nullable/pipe wrappers. */
function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  for (;;) {
    const d = def(s);
    if (d['type'] === 'optional' || d['type'] === 'default' || d['type'] === 'nullable' || d['type'] === 'prefault') s = d['innerType'] as AnySchema;
    else if (d['type'] === 'pipe') s = d['in'] as AnySchema;
    else return s;
  }
}

/** The schema that applies at `path` of `input` (following the input through unions), if any. */
function schemaAt(path: readonly PropertyKey[], input: unknown): AnySchema | undefined {
  let s: AnySchema = TopologyFileSchema;
  let n = 0;
  for (;;) {
    s = unwrap(s);
    const d = def(s);
    if (d['type'] === 'union') {
      const raw = valueAt(input, path.slice(0, n));
      if (s === Link) {
        const b = linkBranch(raw);
        if (typeof b === 'string') return undefined;
        s = b;
      } else if (typeof d['discriminator'] === 'string' && isPlainObject(raw)) {
        const options = d['options'] as AnySchema[];
        const want = raw[d['discriminator']];
        const match = options.find((o) => {
          const field = (def(unwrap(o))['shape'] as Record<string, AnySchema>)[d['discriminator'] as string];
          return field !== undefined && (def(field)['values'] as unknown[] | undefined)?.includes(want);
        });
        if (!match) return undefined;
        s = match;
      } else {
        return undefined;
      }
      continue; // same position, now in the chosen branch
    }
    if (n === path.length) return s;
    const seg = path[n++]!;
    if (d['type'] === 'object') {
      const next = (d['shape'] as Record<string, AnySchema>)[seg as string];
      if (!next) return undefined;
      s = next;
    } else if (d['type'] === 'record') {
      s = d['valueType'] as AnySchema;
    } else if (d['type'] === 'array') {
      s = d['element'] as AnySchema;
    } else {
      return undefined;
    }
  }
}

function allowedKeys(path: readonly PropertyKey[], input: unknown): string[] | undefined {
  const s = schemaAt(path, input);
  if (!s) return undefined;
  const d = def(unwrap(s));
  return d['type'] === 'object' ? Object.keys(d['shape'] as object) : undefined;
}

function segments(path: readonly PropertyKey[]): PathSegment[] {
  return path.map((p) => (typeof p === 'number' ? p : String(p)));
}

/** Problems for a list of zod issues raised while parsing `input` (paths are relative to `base`). */
export function issuesToProblems(issues: readonly Issue[], input: unknown, base: readonly PropertyKey[] = []): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    const here = valueAt(input, path);
    const at = (message: string, p: readonly PropertyKey[] = path) => out.push({ path: formatPath(segments(p)), message });
    switch (issue.code) {
      case 'invalid_type': {
        const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
        if (here === undefined) at(`required (${expected})`);
        else at(`expected ${expected}, got ${describeValue(here)}`);
        break;
      }
      case 'unrecognized_keys': {
        if (path.length === 2 && path[0] === 'links') {
          // zod reports {switch, peer, host} as an unknown key of one branch: say what is meant.
          const b = linkBranch(here);
          if (typeof b === 'string') {
            at(b);
            break;
          }
        }
        const allowed = allowedKeys(path, input);
        for (const key of issue.keys) {
          at('unknown key' + (allowed ? ` (allowed: ${allowed.join(', ')})` : ''), [...path, key]);
        }
        break;
      }
      case 'invalid_key': {
        // A record key failed its schema (node and container names).
        for (const inner of issue.issues) at(inner.message);
        break;
      }
      case 'invalid_union': {
        const d = issue as Issue & { discriminator?: string; options?: unknown[]; note?: string };
        if (d.discriminator !== undefined && d.options) {
          // path already ends with the discriminator key.
          const choices = d.options.map((o) => JSON.stringify(o)).join(' or ');
          if (here === undefined) at(`required (${choices})`);
          else at(`expected ${choices}, got ${describeValue(here)}`);
          break;
        }
        const b = linkBranch(here);
        if (typeof b === 'string') {
          at(b);
        } else {
          const r = (b as z.ZodType).safeParse(here);
          if (!r.success) for (const p of issuesToProblems(r.error.issues, input, path)) out.push(p); // no push(...xs): stack
          else at(issue.message); // cannot happen: the union refused it
        }
        break;
      }
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
        const rel = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
        if (issue.origin === 'string') {
          at(issue.code === 'too_small' && Number(bound) === 1 ? 'must not be empty' : `length must be ${rel} ${String(bound)}`);
        } else if (issue.origin === 'array' || issue.origin === 'set') {
          at(`must have ${rel} ${String(bound)} items`);
        } else {
          at(`${describeValue(here)} is out of range (must be ${rel} ${String(bound)})`);
        }
        break;
      }
      case 'invalid_value': {
        const choices = issue.values.map((v) => JSON.stringify(v)).join(' or ');
        at(here === undefined ? `required (${choices})` : `expected ${choices}, got ${describeValue(here)}`);
        break;
      }
      default:
        // custom (our refinements carry their own messages) and anything else zod adds.
        at(issue.message);
    }
  }
  return out;
}
