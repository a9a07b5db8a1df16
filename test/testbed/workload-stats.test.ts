// The figures of a migration run, from synthetic probe records whose answers are known.
import t from 'tap';
import { analyzeRun, formatMs, summarize, type ClientRecord } from '../../testbed/workload/stats.js';

interface Spec {
  /** HTTP probes: every 10 ms from 0 to `end`; answered after `rtt` unless `fails(sent)`. */
  end: number;
  httpRtt: number;
  httpFails: (sent: number) => boolean;
  /** Datagrams: every 1 ms; echoed after `udpRtt` unless `lost(sent)`; `late(sent)` gives a later echo time. */
  udpRtt: number;
  lost: (sent: number) => boolean;
  late?: (sent: number) => number | null;
}

function record(s: Spec): ClientRecord {
  const http: ClientRecord['http'] = { sent: [], done: [], ok: [], err: [] };
  for (let sent = 0; sent <= s.end; sent += 10) {
    const fail = s.httpFails(sent);
    http.sent.push(sent);
    http.done.push(fail ? sent + 200 : sent + s.httpRtt);
    http.ok.push(fail ? 0 : 1);
    http.err.push(fail ? 'timeout' : '');
  }
  const udp: ClientRecord['udp'] = { sent: [], recv: [], duplicates: 0, foreign: 0, sendErrors: 0 };
  for (let sent = 0; sent <= s.end; sent += 1) {
    udp.sent.push(sent);
    const late = s.late?.(sent) ?? null;
    udp.recv.push(late ?? (s.lost(sent) ? null : sent + s.udpRtt));
  }
  return { version: 1, clock: 'monotonic-ms', target: '192.0.2.1', intervalMs: 10, timeoutMs: 200, udpIntervalMs: 1, http, udp };
}

const window = { freezeAt: 1000, resumeAt: 1500 };

t.test('a clean migration: down exactly for the freeze, nothing lost outside it', async (t) => {
  // Probes sent from 1000 (the freeze) until 1520 fail; the one sent at 1520 is answered at 1523.
  const rec = record({
    end: 3000, httpRtt: 3, httpFails: (s) => s >= 1000 && s < 1520,
    udpRtt: 2, lost: (s) => s >= 1000 && s < 1504,
  });
  const f = analyzeRun(rec, window);
  t.equal(f.http.refractoryMs, 23, 'resume (1500) → first good answer (1523)');
  t.equal(f.http.downtimeMs, 1523 - 993, 'last good answer (990 + 3) → first good answer');
  t.equal(f.udp.refractoryMs, 4, 'resume → the first datagram sent after it that came back (sent at 1504)');
  t.equal(f.udp.downtimeMs, 1506 - 1000, 'last echo before the freeze (998 + 2 = 1000) → echo of the datagram sent at 1504');
  t.ok(f.http.recovered && f.udp.recovered);
  t.equal(f.http.lostBefore, 0);
  t.equal(f.http.lostAfter, 2, 'probes sent at 1500 and 1510 failed after the resume');
  t.equal(f.http.lostAfterRecovery, 0);
  t.equal(f.udp.lostBefore, 0);
  t.equal(f.udp.lostAfter, 4, 'datagrams sent at 1500..1503');
  t.equal(f.udp.lostAfterRecovery, 0);
  t.same(f.baseline, { httpMs: 3, udpRttMs: 2 });
  t.equal(f.observedAfterMs, 1500);
});

t.test('losses before the freeze and after the recovery are counted, in-flight ones are not', async (t) => {
  const rec = record({
    end: 3000, httpRtt: 3,
    // 500: a loss unrelated to the migration; 900: in flight (its timeout reaches into the freeze);
    // 2000: a loss after the recovery.
    httpFails: (s) => s === 500 || s === 900 || (s >= 1000 && s < 1600) || s === 2000,
    udpRtt: 2, lost: (s) => s === 100 || s === 990 || (s >= 1000 && s < 1600) || s === 2500 || s === 2501,
  });
  const f = analyzeRun(rec, window);
  t.equal(f.http.lostBefore, 1, 'the probe sent at 500');
  t.equal(f.http.lostAfter, 11, '1500..1590 and 2000');
  t.equal(f.http.lostAfterRecovery, 1, 'the probe sent at 2000');
  t.equal(f.udp.lostBefore, 1, 'the datagram sent at 100 (the one at 990 was within the guard)');
  t.equal(f.udp.lostAfter, 102, '1500..1599, 2500 and 2501');
  t.equal(f.udp.lostAfterRecovery, 2);
});

t.test('echoes of datagrams queued in the frozen server do not count as recovery', async (t) => {
  // Datagrams sent during the freeze come back at the resume (they waited in the socket), but
  // the path is broken until 1700 for anything sent after it.
  const rec = record({
    end: 3000, httpRtt: 3, httpFails: (s) => s >= 1000 && s < 1700,
    udpRtt: 2, lost: (s) => s >= 1000 && s < 1700,
    late: (s) => (s >= 1200 && s < 1300 ? 1501 : null),
  });
  const f = analyzeRun(rec, window);
  t.equal(f.udp.refractoryMs, 200, 'the first datagram sent after the resume that came back left at 1700');
  t.equal(f.udp.downtimeMs, 1702 - 1000);
});

t.test('a run that never recovers', async (t) => {
  const rec = record({ end: 3000, httpRtt: 3, httpFails: (s) => s >= 1000, udpRtt: 2, lost: (s) => s >= 1000 });
  const f = analyzeRun(rec, window);
  t.equal(f.http.recovered, false);
  t.equal(f.http.refractoryMs, null);
  t.equal(f.http.downtimeMs, null);
  t.equal(f.udp.recovered, false);
  t.equal(f.udp.refractoryMs, null);
});

t.test('observeFrom leaves the warm-up out', async (t) => {
  const rec = record({ end: 3000, httpRtt: 3, httpFails: (s) => s < 300 || (s >= 1000 && s < 1520), udpRtt: 2, lost: (s) => s < 300 || (s >= 1000 && s < 1504) });
  t.equal(analyzeRun(rec, window).http.lostBefore, 30, 'warm-up failures counted without it');
  const f = analyzeRun(rec, window, { observeFrom: 300 });
  t.equal(f.http.lostBefore, 0);
  t.equal(f.udp.lostBefore, 0);
  t.equal(f.http.total, 271);
});

t.test('duplicates: those of datagrams sent before the freeze and those the server received twice', async (t) => {
  const rec = record({ end: 3000, httpRtt: 3, httpFails: (s) => s >= 1000 && s < 1520, udpRtt: 2, lost: () => false });
  // Two echoes of datagrams sent before the freeze came twice, one of a datagram sent during it.
  rec.udp.duplicateAt = [[900, 905], [901, 930], [1200, 1510]];
  rec.udp.duplicates = 3;
  const f = analyzeRun(rec, window, { serverDuplicates: [900, 901] });
  t.equal(f.udp.duplicates, 3);
  t.equal(f.udp.duplicatesBeforeFreeze, 2, 'sent before the freeze');
  t.equal(f.udp.duplicatedAtServer, 2, 'received twice by the server');
  const older = analyzeRun({ ...rec, udp: { ...rec.udp, duplicateAt: undefined } }, window);
  t.equal(older.udp.duplicatesBeforeFreeze, null, 'not recorded by an older client');
  t.equal(older.udp.duplicatedAtServer, null, 'no server log');
});

t.test('inconsistent input is refused', async (t) => {
  const rec = record({ end: 100, httpRtt: 3, httpFails: () => false, udpRtt: 2, lost: () => false });
  t.throws(() => analyzeRun(rec, { freezeAt: 50, resumeAt: 40 }), /before freeze/);
  rec.http.ok.pop();
  t.throws(() => analyzeRun(rec, window), /differ in length/);
});

t.test('summaries: unrecovered runs are worse than any figure', async (t) => {
  t.same(summarize([3, 1, 2]), { n: 3, min: 1, median: 2, max: 3, unrecovered: 0 });
  t.same(summarize([4, 1, 2, 3]), { n: 4, min: 1, median: 2.5, max: 4, unrecovered: 0 });
  const s = summarize([1, null, 2, null, null]);
  t.equal(s.median, Infinity);
  t.equal(s.min, 1);
  t.equal(s.unrecovered, 3);
  t.equal(formatMs(s.median, 30_000), '> 30.0 s');
  t.equal(formatMs(2.25), '2.3 ms');
  t.equal(formatMs(47.4), '47 ms');
  t.equal(formatMs(1349), '1.35 s');
  t.equal(formatMs(15_230), '15.2 s');
});
