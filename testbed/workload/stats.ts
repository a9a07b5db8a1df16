/**
 * Figures of one migration run from what the probe client recorded and when the orchestrator
 * froze and resumed the container (all CLOCK_MONOTONIC ms), and their summary over runs.
 *
 * Definitions (the same for every mode):
 *   HTTP downtime     last good probe answer before the resume → first good answer after it
 *                     (the process is stopped in between, so no answer can come from it).
 *   HTTP refractory   resume → first good answer after it.
 *   UDP downtime      last echo received before the freeze → first echo of a datagram sent
 *                     after the resume.
 *   UDP refractory    resume → send time of the first datagram SENT after the resume that is
 *                     echoed (datagrams queued in the stopped server's socket and answered at
 *                     the resume do not count: they prove nothing about the path after it).
 *   lost outside the freeze
 *                     HTTP probes that failed although their whole life (send → timeout) lies
 *                     outside [freeze, resume], i.e. sent more than one timeout before the freeze
 *                     or after the resume; datagrams never echoed that were sent more than
 *                     `udpGuardMs` before the freeze or after the resume. A probe in flight when
 *                     the freeze hit is the freeze's, not the network's.
 */

/** What probe-client writes (--out). Times: CLOCK_MONOTONIC ms. */
export interface ClientRecord {
  version: 1;
  clock: 'monotonic-ms';
  target: string;
  intervalMs: number;
  timeoutMs: number;
  udpIntervalMs: number;
  http: { sent: number[]; done: (number | null)[]; ok: number[]; err: string[] };
  /**
   * duplicateAt: [sequence number, arrival time] of every echo received again (absent in older
   * records); session: the stream's random id, as the server's --duplicate-log names it.
   */
  udp: { session?: number; sent: number[]; recv: (number | null)[]; duplicates: number; duplicateAt?: [number, number][]; foreign: number; sendErrors: number };
  /** The long-lived TCP stream (absent in records of older clients). */
  tcp?: { intervalMs: number; sent: number[]; recv: (number | null)[]; errors: string[]; timeouts: number | null };
}

/** When the orchestrator stopped and resumed the container (CLOCK_MONOTONIC ms). */
export interface FreezeWindow {
  freezeAt: number;
  resumeAt: number;
}

export interface StreamFigures {
  /** null: no good answer after the resume (not recovered within the observation). */
  downtimeMs: number | null;
  refractoryMs: number | null;
  recovered: boolean;
  /** Failures outside the freeze window, before it and after the resume. */
  lostBefore: number;
  lostAfter: number;
  /** After the first good answer following the resume (flapping, a broken flip). */
  lostAfterRecovery: number;
  total: number;
  good: number;
}

export interface RunFigures {
  /** Median HTTP probe time and UDP round trip while undisturbed (observed start → freeze). */
  baseline: { httpMs: number | null; udpRttMs: number | null };
  http: StreamFigures;
  /** lostDuringFreeze: sent from the freeze (less the guard) to the resume and never echoed. */
  /**
   * duplicatesBeforeFreeze: of the duplicates, echoes of datagrams sent before the freeze (the
   * hold's replay cannot have made those); duplicatedAtServer: datagrams the server received
   * twice (the network delivered them twice, not the way back). Null: not recorded.
   */
  udp: StreamFigures & { duplicates: number; duplicatesBeforeFreeze: number | null; duplicatedAtServer: number | null; lostDuringFreeze: number };
  /**
   * The long-lived TCP connection: stall = resume → the first echo received after it (what the
   * connection waited beyond the freeze; a retransmission timeout shows as hundreds of ms);
   * unanswered requests; the client namespace's retransmission timeouts over the run. Null
   * without a TCP stream in the record.
   */
  tcp: { stallMs: number | null; unanswered: number; timeouts: number | null; total: number } | null;
  /** How long the client observed after the resume (ms): the cap of an unrecovered run. */
  observedAfterMs: number;
}

export interface AnalyzeOptions {
  /** Datagrams sent this long before the freeze may still be in flight when it hits. Default 50 ms. */
  udpGuardMs?: number;
  /**
   * Ignore probes and datagrams sent before this time (the warm-up, before the orchestrator saw
   * the service answer steadily). Default: everything counts.
   */
  observeFrom?: number;
  /** Sequence numbers of this stream the server received more than once (probe-server --duplicate-log). */
  serverDuplicates?: readonly number[];
}

export function analyzeRun(rec: ClientRecord, w: FreezeWindow, options: AnalyzeOptions = {}): RunFigures {
  if (!(w.resumeAt >= w.freezeAt)) throw new Error(`resume (${w.resumeAt}) before freeze (${w.freezeAt})`);
  const udpGuardMs = options.udpGuardMs ?? 50;
  const from = options.observeFrom ?? -Infinity;
  if (rec.http.done.length !== rec.http.sent.length || rec.http.ok.length !== rec.http.sent.length) throw new Error('client record: http arrays differ in length');
  if (rec.udp.recv.length !== rec.udp.sent.length) throw new Error('client record: udp arrays differ in length');
  const h = keepFrom(rec.http, from);
  const u = keepFrom(rec.udp, from);
  const httpTimes: number[] = [];
  for (let i = 0; i < h.sent.length; i++) if (h.ok[i] && h.sent[i]! < w.freezeAt && h.done[i] != null) httpTimes.push(h.done[i]! - h.sent[i]!);
  const udpRtts: number[] = [];
  for (let i = 0; i < u.sent.length; i++) if (u.sent[i]! < w.freezeAt && u.recv[i] != null && u.recv[i]! <= w.freezeAt) udpRtts.push(u.recv[i]! - u.sent[i]!);
  const baseline = { httpMs: httpTimes.length ? round(summarize(httpTimes).median) : null, udpRttMs: udpRtts.length ? round(summarize(udpRtts).median) : null };

  // ---- HTTP
  let lastGoodBefore = -Infinity;
  let firstGoodAfter = Infinity;
  let good = 0;
  for (let i = 0; i < h.sent.length; i++) {
    const done = h.done[i];
    if (!h.ok[i] || done === null || done === undefined) continue;
    good++;
    if (done <= w.resumeAt) lastGoodBefore = Math.max(lastGoodBefore, done);
    else firstGoodAfter = Math.min(firstGoodAfter, done);
  }
  let lostBefore = 0;
  let lostAfter = 0;
  let lostAfterRecovery = 0;
  for (let i = 0; i < h.sent.length; i++) {
    if (h.ok[i]) continue;
    const sent = h.sent[i]!;
    if (sent + rec.timeoutMs < w.freezeAt) lostBefore++;
    else if (sent >= w.resumeAt) {
      lostAfter++;
      if (sent >= firstGoodAfter) lostAfterRecovery++;
    }
  }
  const httpRecovered = Number.isFinite(firstGoodAfter);
  const http: StreamFigures = {
    downtimeMs: httpRecovered && Number.isFinite(lastGoodBefore) ? round(firstGoodAfter - lastGoodBefore) : null,
    refractoryMs: httpRecovered ? round(firstGoodAfter - w.resumeAt) : null,
    recovered: httpRecovered,
    lostBefore, lostAfter, lostAfterRecovery,
    total: h.sent.length,
    good,
  };

  // ---- UDP
  let lastEchoBeforeFreeze = -Infinity;
  let firstSentAfterEchoed = Infinity;
  let firstEchoOfAfter = Infinity;
  let echoed = 0;
  for (let i = 0; i < u.sent.length; i++) {
    const recv = u.recv[i];
    if (recv === null || recv === undefined) continue;
    echoed++;
    const sent = u.sent[i]!;
    if (recv <= w.freezeAt) lastEchoBeforeFreeze = Math.max(lastEchoBeforeFreeze, recv);
    if (sent >= w.resumeAt) {
      firstSentAfterEchoed = Math.min(firstSentAfterEchoed, sent);
      firstEchoOfAfter = Math.min(firstEchoOfAfter, recv);
    }
  }
  let uBefore = 0;
  let uAfter = 0;
  let uAfterRecovery = 0;
  let uDuring = 0;
  for (let i = 0; i < u.sent.length; i++) {
    if (u.recv[i] !== null && u.recv[i] !== undefined) continue;
    const sent = u.sent[i]!;
    if (sent < w.freezeAt - udpGuardMs) uBefore++;
    else if (sent < w.resumeAt) uDuring++;
    else if (sent >= w.resumeAt) {
      uAfter++;
      if (sent > firstSentAfterEchoed) uAfterRecovery++;
    }
  }
  const udpRecovered = Number.isFinite(firstSentAfterEchoed);
  const udp = {
    downtimeMs: udpRecovered && Number.isFinite(lastEchoBeforeFreeze) ? round(firstEchoOfAfter - lastEchoBeforeFreeze) : null,
    refractoryMs: udpRecovered ? round(firstSentAfterEchoed - w.resumeAt) : null,
    recovered: udpRecovered,
    lostBefore: uBefore, lostAfter: uAfter, lostAfterRecovery: uAfterRecovery,
    total: u.sent.length,
    good: echoed,
    duplicates: rec.udp.duplicates,
    duplicatesBeforeFreeze: rec.udp.duplicateAt ? rec.udp.duplicateAt.filter(([seq]) => (rec.udp.sent[seq] ?? Infinity) < w.freezeAt).length : null,
    duplicatedAtServer: options.serverDuplicates ? options.serverDuplicates.length : null,
    lostDuringFreeze: uDuring,
  };

  let tcp: RunFigures['tcp'] = null;
  if (rec.tcp) {
    const c = keepFrom({ sent: rec.tcp.sent, recv: rec.tcp.recv }, from);
    let firstAfter = Infinity;
    for (const r of c.recv) if (r !== null && r >= w.resumeAt) firstAfter = Math.min(firstAfter, r);
    tcp = {
      stallMs: Number.isFinite(firstAfter) ? round(firstAfter - w.resumeAt) : null,
      unanswered: c.recv.filter((r) => r === null).length,
      timeouts: rec.tcp.timeouts,
      total: c.sent.length,
    };
  }

  const lastActivity = Math.max(h.sent.at(-1) ?? -Infinity, u.sent.at(-1) ?? -Infinity);
  return { baseline, http, udp, tcp, observedAfterMs: round(Math.max(0, lastActivity - w.resumeAt)) };
}

/** The entries of parallel arrays whose `sent` is at or after `from`. */
function keepFrom<T extends { sent: number[] }>(streams: T, from: number): T {
  if (!Number.isFinite(from)) return streams;
  const keep = streams.sent.map((s) => s >= from);
  const out: Record<string, unknown> = { ...streams };
  for (const [k, v] of Object.entries(streams)) if (Array.isArray(v) && v.length === keep.length) out[k] = v.filter((_, i) => keep[i]);
  return out as T;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** min / median / max over runs; a run that did not recover counts as +Infinity (worse than any). */
export interface Summary {
  n: number;
  min: number;
  median: number;
  max: number;
  /** Runs that did not recover. */
  unrecovered: number;
}

export function summarize(values: readonly (number | null)[]): Summary {
  const xs = values.map((v) => (v === null ? Infinity : v)).sort((a, b) => a - b);
  if (xs.length === 0) return { n: 0, min: NaN, median: NaN, max: NaN, unrecovered: 0 };
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
  return { n: xs.length, min: xs[0]!, median, max: xs[xs.length - 1]!, unrecovered: values.filter((v) => v === null).length };
}

/** A duration for people: "4.2 ms", "1.35 s", "> 30 s" (unrecovered, capped at `capMs`). */
export function formatMs(ms: number, capMs?: number): string {
  if (Number.isNaN(ms)) return '-';
  if (!Number.isFinite(ms)) return capMs === undefined ? 'never' : `> ${formatMs(capMs)}`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 1000).toFixed(1)} s`;
}
