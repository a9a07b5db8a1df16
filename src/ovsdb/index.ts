// Public surface of the OVSDB client (RFC 7047). See README.md.
export * from './errors.js';
export * from './json.js';
export * from './json-stream.js';
export * from './values.js';
export * from './schema.js';
export * from './operations.js';
export * from './cache.js';
export * from './monitor.js';
export * from './transport.js';
export * from './jsonrpc.js';
export * from './client.js';
