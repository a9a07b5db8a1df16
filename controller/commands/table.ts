/** Plain-text tables for the operator commands: a header row and left-aligned, padded columns. */
export function table(header: string[], rows: (string | number | null | undefined)[][]): string {
  const text = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...text.map(line)].join('\n') + '\n';
}
