/**
 * Places in a JSON text: offsets to line:column, and the tree of value/key offsets that
 * parseJsonDocument records so a checker can point at the value a problem is about.
 */

/** A place in the text: 0-based offset, 1-based line and column (UTF-16 code units). */
export interface JsonLocation {
  offset: number;
  line: number;
  column: number;
}

/** A segment of a path into a JSON value: a member name or an array index. */
export type JsonPathSegment = string | number;

/**
 * Line starts of a text, to turn offsets into line:column. A line ends at "\n", "\r\n" or a
 * lone "\r" (as editors count them).
 */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x0a) this.starts.push(i + 1);
      else if (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a) this.starts.push(i + 1);
    }
  }
  locate(offset: number): JsonLocation {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { offset, line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}

/** line:column of one offset, without building an index (for a single error). */
export function locateOffset(text: string, offset: number): JsonLocation {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}

/** Where one value sits: its first character, and for an object member also its name. */
export interface PositionNode {
  /** Offset of the value's first character. */
  value: number;
  /** Offset of the member name's opening quote; -1 for array elements and the top value. */
  key: number;
  /** Members (object) or elements (array) of a container; undefined for scalars. */
  children: Map<string, PositionNode> | PositionNode[] | undefined;
}

/** The place of a value found by `JsonPositions.find`. */
export interface ValuePlace {
  value: JsonLocation;
  /** The member name, when the value is an object member. */
  key?: JsonLocation;
  /** How many leading segments of the path asked for were found (all of them for `at`). */
  depth: number;
}

/** The positions of every value of a parsed document, looked up by path. */
export class JsonPositions {
  constructor(
    private readonly root: PositionNode,
    private readonly lines: LineIndex,
  ) {}

  /** The value at `path` exactly, or undefined when the document has none there. */
  at(path: readonly JsonPathSegment[]): ValuePlace | undefined {
    const p = this.find(path);
    return p.depth === path.length ? p : undefined;
  }

  /** The value at `path`, or its nearest ancestor present in the document (at worst the top value). */
  find(path: readonly JsonPathSegment[]): ValuePlace {
    let node = this.root;
    let depth = 0;
    for (const seg of path) {
      const children = node.children;
      let next: PositionNode | undefined;
      if (Array.isArray(children)) next = typeof seg === 'number' ? children[seg] : undefined;
      else if (children !== undefined && typeof seg === 'string') next = children.get(seg);
      if (next === undefined) break;
      node = next;
      depth++;
    }
    const place: ValuePlace = { value: this.lines.locate(node.value), depth };
    if (node.key >= 0) place.key = this.lines.locate(node.key);
    return place;
  }

  /** line:column of any offset in the same text. */
  locate(offset: number): JsonLocation {
    return this.lines.locate(offset);
  }
}
