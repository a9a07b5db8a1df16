/**
 * RFC 9457 problem details: the one shape of every error the HTTP API returns, whatever the
 * route or the cause (validation, auth, unknown route, size limit, conflict, internal error).
 * `problem()` is the only place that builds one; `problemResponse()` the only one that sends it.
 */
import { z } from '@hono/zod-openapi';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** One thing wrong with a request, located by a JSON Pointer (RFC 6901) into the body or parameters. */
export const ProblemItem = z.object({
  path: z.string().openapi({ description: 'JSON Pointer of the offending value, e.g. "/to/port" ("" is the whole body)', example: '/to/port' }),
  message: z.string().openapi({ example: 'required: a port name such as "veth-web"' }),
}).openapi('ProblemItem');

export const ProblemDetails = z.object({
  type: z.string().openapi({ description: 'URI naming the kind of problem ("about:blank": the status says it all)', example: 'urn:vino-controller:problem:invalid-request' }),
  title: z.string().openapi({ description: 'Short summary of the kind of problem, the same for every occurrence' }),
  status: z.number().int().openapi({ description: 'The HTTP status code' }),
  detail: z.string().openapi({ description: 'What went wrong in this request, for people' }),
  instance: z.string().optional().openapi({ description: 'The request path this problem is about' }),
  errors: z.array(ProblemItem).optional().openapi({ description: 'Every problem with the request, each with its JSON Pointer' }),
}).passthrough().openapi('ProblemDetails');

export type ProblemItemValue = z.infer<typeof ProblemItem>;
export type ProblemDetailsValue = z.infer<typeof ProblemDetails>;

/** The kinds of problem, each with its `type` URI suffix and title. */
const KINDS = {
  'invalid-request': 'The request is not valid',
  'malformed-json': 'The request body is not valid JSON',
  'unsupported-media-type': 'The request body must be JSON',
  'payload-too-large': 'The request body is larger than the limit',
  unauthorized: 'Authentication required',
  'not-found': 'Not found',
  'method-not-allowed': 'Method not allowed',
  conflict: 'The request conflicts with the current state',
  'switch-refused': 'A switch refused the change',
  'provisioning-failed': 'Provisioning through OVSDB failed',
  internal: 'Internal error',
} as const;
export type ProblemKind = keyof typeof KINDS;

export function problem(kind: ProblemKind, status: number, detail: string, extra: { instance?: string; errors?: ProblemItemValue[]; [member: string]: unknown } = {}): ProblemDetailsValue {
  const { instance, errors, ...members } = extra;
  return {
    type: `urn:vino-controller:problem:${kind}`, title: KINDS[kind], status, detail,
    ...(instance !== undefined ? { instance } : {}),
    ...(errors && errors.length > 0 ? { errors } : {}),
    ...members,
  };
}

export function problemResponse(body: ProblemDetailsValue, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status: body.status, headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...headers } });
}

/** OpenAPI response entry for a problem status. */
export function problemDoc(description: string) {
  return { content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemDetails } }, description };
}

/** A JSON Pointer (RFC 6901) from path segments. */
export function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((seg) => `/${String(seg).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** Dotted path for prose ("to.port", "links[3]"); "body" for the root. */
function dotted(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '') || 'body';
}

/** What a field holds, said to a person; by the field's last path segment. */
const FIELD_HINTS: Record<string, string> = {
  container: 'a container name such as "web"',
  switch: 'a topology node name such as "h2"',
  node: 'a topology node name such as "h2"',
  port: 'a port name such as "veth-web"',
  ofport: 'an OpenFlow port number 1..65279',
  mac: 'a unicast MAC address such as "02:00:00:00:00:01"',
  ip: 'an IPv4 address such as "10.0.0.1"',
  name: 'a name such as "web"',
  id: 'a migration id',
  to: 'an object {"switch", "port"}',
};

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : `the string ${JSON.stringify(value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

interface ZodIssueLike {
  code?: string;
  path: readonly PropertyKey[];
  message: string;
  expected?: unknown;
  keys?: readonly string[];
  maximum?: unknown;
  minimum?: unknown;
  origin?: string;
  values?: readonly unknown[];
}

/**
 * zod issues in human words, each with its JSON Pointer. `input` is the value that was
 * validated: it tells "required" (absent) from "wrong type". Messages the schemas wrote
 * themselves (regex and refine messages) are kept; zod's generic ones are rewritten.
 */
export function humanIssues(issues: readonly ZodIssueLike[], input: unknown): ProblemItemValue[] {
  const out: ProblemItemValue[] = [];
  // One problem per value: a name too long and against the pattern is said once (the first).
  const seen = new Set<string>();
  for (const issue of issues) {
    const last = issue.path[issue.path.length - 1];
    const hint = typeof last === 'string' ? FIELD_HINTS[last] : undefined;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys ?? []) out.push({ path: jsonPointer([...issue.path, key]), message: `unknown field "${key}"` });
      continue;
    }
    let message: string;
    const value = valueAt(input, issue.path);
    if (issue.code === 'invalid_type') {
      message = value === undefined
        ? `required${hint ? `: ${hint}` : ''}`
        : `expected ${hint ?? `a ${String(issue.expected)}`}, got ${describe(value)}`;
    } else if (issue.code === 'too_small' && issue.origin === 'string') {
      message = Number(issue.minimum) <= 1 ? `must not be empty${hint ? `: ${hint}` : ''}` : `at least ${String(issue.minimum)} characters`;
    } else if (issue.code === 'too_big' && issue.origin === 'string') {
      message = `at most ${String(issue.maximum)} characters, got ${typeof value === 'string' ? value.length : '?'}`;
    } else if (issue.code === 'too_small' || issue.code === 'too_big') {
      message = `must be ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(issue.code === 'too_small' ? issue.minimum : issue.maximum)}, got ${describe(value)}`;
    } else if (issue.code === 'invalid_value' && issue.values) {
      message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}`;
    } else if (/^(Invalid|Too |Unrecognized)/.test(issue.message)) {
      message = `${hint ? `expected ${hint}` : 'invalid value'}, got ${describe(value)}`;
    } else {
      message = issue.message;
    }
    const path = jsonPointer(issue.path);
    if (seen.has(path)) continue;
    seen.add(path);
    out.push({ path, message });
  }
  return out;
}

/** "to.port: required, ...; mac: ..." from the items of a validation problem. */
export function summarize(items: readonly ProblemItemValue[]): string {
  const parts = items.slice(0, 5).map((i) => {
    const segs = i.path.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
    return `${dotted(segs)}: ${i.message}`;
  });
  return parts.join('; ') + (items.length > 5 ? ` (and ${items.length - 5} more)` : '');
}
