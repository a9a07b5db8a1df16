// RFC 7047 section 3.2 <database-schema> as types. Apart from schema.ts (which parses them) so
// that values.ts can decode by column type without importing the parser that uses it.
import type { JsonObject } from '../json/index.js';
import type { OvsdbSet } from './atoms.js';

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';

export interface BaseType {
  type: AtomicType;
  /** Allowed values, when the schema restricts them. */
  enum?: OvsdbSet;
  minInteger?: number | bigint;
  maxInteger?: number | bigint;
  minReal?: number;
  maxReal?: number;
  minLength?: number;
  maxLength?: number;
  refTable?: string;
  refType?: 'strong' | 'weak';
}

export interface ColumnType {
  key: BaseType;
  /** Present for maps. */
  value?: BaseType;
  min: number;
  max: number | 'unlimited';
}

export interface ColumnSchema {
  name: string;
  type: ColumnType;
  ephemeral: boolean;
  mutable: boolean;
}

export interface TableSchema {
  name: string;
  /** Declared columns plus the implicit _uuid and _version. */
  columns: Record<string, ColumnSchema>;
  maxRows?: number;
  isRoot: boolean;
  indexes: string[][];
}

export interface DatabaseSchema {
  name: string;
  version?: string;
  cksum?: string;
  tables: Record<string, TableSchema>;
  /** The schema exactly as the server sent it. */
  raw: JsonObject;
}
