/**
 * Emulated switches in a worker thread of their own (bench/lib/connected-startup.ts with
 * `switchesApart`): real switches are not in the controller's process, and a thousand emulated
 * switches holding a million flows in it would have the controller's garbage collector walk their
 * tables and share its event loop. The worker keeps the switches' tables across a restart.
 * Or in a child process of their own (`switchesApart: 'process'`): the controller's process then
 * holds nothing of theirs, its RSS is the controller's alone.
 *
 * Messages in: { op: 'connect', host, port, timeoutMs } (new switches on the same tables, every
 * one connected and through its handshake → { op: 'connected' } or { op: 'error', message });
 * { op: 'counts' } → { op: 'counts', flowMods, flowsHeld }; { op: 'close' } → { op: 'closed' }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EmulatedSwitch, type EmulatedFlowTable, type EmulatedSwitchConfig } from './emulated-switch.js';

export interface SwitchWorkerData {
  configs: Omit<EmulatedSwitchConfig, 'flows'>[];
  keepFlows: boolean;
}

type Request = { op: 'connect'; host: string; port: number; timeoutMs: number } | { op: 'counts' } | { op: 'close' };

/** A worker's parentPort, or a child process's IPC channel (its first message is the worker data). */
interface Channel {
  onMessage(listener: (m: Request) => void): void;
  post(m: object): void;
}

function serve(port: Channel, data: SwitchWorkerData): void {
  const tables: EmulatedFlowTable[] | undefined = data.keepFlows ? data.configs.map(() => new Map()) : undefined;
  let switches: EmulatedSwitch[] = [];
  const closeAll = () => {
    for (const s of switches) s.close();
    switches = [];
  };
  port.onMessage((m: Request) => {
    if (m.op === 'connect') {
      closeAll();
      switches = data.configs.map((c, i) => new EmulatedSwitch({ ...c, ...(tables ? { flows: tables[i]! } : {}) }));
      const deadline = performance.now() + m.timeoutMs;
      Promise.all(switches.map((s) => s.connect(m.host, m.port, deadline)))
        .then(() => Promise.all(switches.map((s) => s.ready)))
        .then(() => port.post({ op: 'connected' }), (err: Error) => port.post({ op: 'error', message: err.message }));
    } else if (m.op === 'counts') {
      port.post({ op: 'counts', flowMods: switches.reduce((n, s) => n + s.counters.flowMods, 0), flowsHeld: (tables ?? []).reduce((n, t) => n + t.size, 0) });
    } else if (m.op === 'close') {
      closeAll();
      port.post({ op: 'closed' });
    }
  });
}

if (parentPort) {
  const port = parentPort;
  serve({ onMessage: (listener) => port.on('message', listener), post: (m) => port.postMessage(m) }, workerData as SwitchWorkerData);
} else if (process.send) {
  const send = process.send.bind(process);
  // The parent gone (killed, crashed): so are its switches.
  process.on('disconnect', () => process.exit(0));
  process.once('message', (init: { op: 'init'; data: SwitchWorkerData }) => {
    serve({ onMessage: (listener) => process.on('message', listener), post: (m) => send(m) }, init.data);
  });
}
