// The project's one JSON module: lossless parser, serializer, positions. See README.md.
export * from './errors.js';
export * from './parse.js';
export * from './positions.js';
export * from './stringify.js';
