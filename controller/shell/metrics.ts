/**
 * Prometheus metrics (prom-client), one registry per controller so that tests can run several.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  private readonly sessions = new Gauge({ name: 'vino_switch_sessions', help: 'Open switch connections (handshake done)', registers: [this.registry] });
  private readonly connections = new Counter({ name: 'vino_switch_connections_total', help: 'Switch connections accepted', registers: [this.registry] });
  private readonly openConnections = new Gauge({ name: 'vino_switch_connections_open', help: 'Switch connections open, in the handshake or ready', registers: [this.registry] });
  private readonly refused = new Counter({ name: 'vino_switch_connections_refused_total', help: 'Connections refused because too many switches were in the handshake', registers: [this.registry] });
  // The counts made per message, per batch and per learned MAC are kept as plain numbers and
  // added to their prom-client counter when the registry is read (`collect`): prom-client's inc
  // costs a few hundred ns, several times per packet-in.
  private readonly pending = {
    messagesIn: new Map<string, number>(), messagesOut: 0, packetIns: 0, batches: 0,
    locationChanges: new Map<string, number>(),
  };
  private readonly messagesIn: Counter<string> = new Counter({
    name: 'vino_openflow_messages_in_total', help: 'OpenFlow messages received, by type', labelNames: ['type'], registers: [this.registry],
    collect: (): void => this.collectCounts(this.messagesIn, this.pending.messagesIn),
  });
  private readonly messagesOut = new Counter({
    name: 'vino_openflow_messages_out_total', help: 'OpenFlow messages sent in barrier-confirmed batches', registers: [this.registry],
    collect: (): void => this.collectCount(this.messagesOut, 'messagesOut'),
  });
  private readonly packetIns = new Counter({
    name: 'vino_packet_ins_total', help: 'PACKET_IN messages received', registers: [this.registry],
    collect: (): void => this.collectCount(this.packetIns, 'packetIns'),
  });
  private readonly proxyArps = new Counter({ name: 'vino_proxy_arp_replies_total', help: 'ARP requests answered by the controller', registers: [this.registry] });
  private readonly batches = new Counter({
    name: 'vino_flow_batches_total', help: 'Barrier-confirmed batches applied', registers: [this.registry],
    collect: (): void => this.collectCount(this.batches, 'batches'),
  });
  private readonly barrierRtt = new Histogram({
    name: 'vino_barrier_rtt_seconds', help: 'From the first message of a batch to its barrier reply',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry],
  });
  private readonly errors = new Counter({ name: 'vino_errors_total', help: 'Errors, by kind', labelNames: ['kind'], registers: [this.registry] });
  private readonly locationChanges: Counter<string> = new Counter({
    name: 'vino_location_changes_total', help: 'Location table changes, by kind', labelNames: ['kind'], registers: [this.registry],
    collect: (): void => this.collectCounts(this.locationChanges, this.pending.locationChanges),
  });
  readonly migrations = new Counter({ name: 'vino_migrations_total', help: 'Migrations, by final state', labelNames: ['state'], registers: [this.registry] });
  readonly flipLatency = new Histogram({
    name: 'vino_migration_flip_seconds', help: 'Commit request to the last barrier reply of the flip',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1], registers: [this.registry],
  });

  readonly refractory = new Histogram({
    name: 'vino_migration_refractory_seconds', help: 'Data plane downtime of a migration: freeze (the old host takes no more frames) to the first frame delivered at the new port',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10], registers: [this.registry],
  });
  readonly heldFrames = new Histogram({
    name: 'vino_migration_held_frames', help: 'Frames held during the freeze of a migration (then replayed in order)',
    buckets: [0, 1, 10, 100, 1000, 10_000, 100_000], registers: [this.registry],
  });
  readonly replayedFrames = new Counter({ name: 'vino_migration_replayed_frames_total', help: 'Held frames replayed to the new port', registers: [this.registry] });
  readonly holdDropped = new Counter({ name: 'vino_migration_hold_dropped_frames_total', help: 'Frames not held (a cap reached) or discarded (abort, switch gone)', registers: [this.registry] });
  readonly heldBytesNow = new Gauge({ name: 'vino_migration_held_bytes', help: 'Bytes held now over all migrations', registers: [this.registry] });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'vino_' });
  }

  sessionOpened(): void {
    this.connections.inc();
    this.openConnections.inc();
  }
  sessionClosed(): void { this.openConnections.dec(); }
  connectionRefused(): void { this.refused.inc(); }
  sessionReady(): void { this.sessions.inc(); }
  sessionGone(): void { this.sessions.dec(); }
  messageIn(type: string): void {
    this.pending.messagesIn.set(type, (this.pending.messagesIn.get(type) ?? 0) + 1);
    if (type === 'PACKET_IN') this.pending.packetIns++;
  }
  proxyArp(): void { this.proxyArps.inc(); }
  batchApplied(messages: number, elapsedMs: number): void {
    this.pending.batches++;
    this.pending.messagesOut += messages + 1;
    // Observed at once: prom-client has no way to add observations in bulk, so keeping them for
    // later would save nothing.
    this.barrierRtt.observe(elapsedMs / 1000);
  }
  error(kind: string): void { this.errors.inc({ kind }); }
  locationChange(kind: string): void {
    this.pending.locationChanges.set(kind, (this.pending.locationChanges.get(kind) ?? 0) + 1);
  }

  /** Adds an unlabelled count kept as a number since the last scrape to its counter. */
  private collectCount(counter: Counter, key: 'messagesOut' | 'packetIns' | 'batches'): void {
    counter.inc(this.pending[key]);
    this.pending[key] = 0;
  }

  private collectCounts(counter: Counter<string>, counts: Map<string, number>): void {
    for (const [label, n] of counts) if (n > 0) counter.labels(label).inc(n);
    counts.clear();
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
