/** The embedded emulated testbed (`netns` node provider). See README.md. */
export * from './types.js';
export { Testbed, up, runStatus, downRun, fillTopology, DEFAULT_CONTAINER_MTU } from './testbed.js';
export { cleanupStale, loadRecord, type StaleCleanupResult } from './cleanup.js';
export { CommandError } from './proc.js';
export { makeState, readState, writeState, removeState, stateFilePath, defaultStateDir, type TestbedStateFile } from './state.js';
