/**
 * Topology JSON as people read it: the top level and the nodes/links/containers collections
 * one entry a line, each entry inline. Used by import-dsl and for the example files.
 */

function inline(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? '[]' : `[${value.map(inline).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`).join(', ')} }`;
  }
  return JSON.stringify(value);
}

function block(value: unknown, indent: string, depth: number): string {
  if (depth === 0 || value === null || typeof value !== 'object') return inline(value);
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + block(v, inner, depth - 1)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${block(v, inner, depth - 1)}`).join(',\n')}\n${indent}}`;
}

/** Formats a topology file (any JSON value) with a trailing newline. */
export function formatTopologyJson(file: unknown): string {
  return block(file, '', 2) + '\n';
}
