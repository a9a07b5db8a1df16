import t from 'tap';
import { Metrics } from '../../controller/shell/metrics.js';

t.test('per-type counters count each message and location change under its own label', async (t) => {
  const m = new Metrics(false);
  for (let i = 0; i < 3; i++) m.messageIn('PACKET_IN');
  m.messageIn('ECHO_REQUEST');
  m.locationChange('added');
  m.locationChange('added');
  m.locationChange('moved');
  const text = await m.text();
  t.match(text, /vino_openflow_messages_in_total\{type="PACKET_IN"\} 3\n/);
  t.match(text, /vino_openflow_messages_in_total\{type="ECHO_REQUEST"\} 1\n/);
  t.match(text, /vino_packet_ins_total 3\n/);
  t.match(text, /vino_location_changes_total\{kind="added"\} 2\n/);
  t.match(text, /vino_location_changes_total\{kind="moved"\} 1\n/);
});

t.test('counts kept between reads are added once: a second read without new events shows the same totals', async (t) => {
  const m = new Metrics(false);
  m.batchApplied(3, 0.7);
  m.batchApplied(1, 30);
  m.messageIn('PACKET_IN');
  const first = await m.text();
  t.match(first, /vino_flow_batches_total 2\n/);
  t.match(first, /vino_openflow_messages_out_total 6\n/, 'messages plus one barrier per batch');
  t.match(first, /vino_barrier_rtt_seconds_bucket\{le="0.001"\} 1\n/);
  t.match(first, /vino_barrier_rtt_seconds_count 2\n/);
  t.match(first, /vino_packet_ins_total 1\n/);
  const second = await m.text();
  t.equal(second, first, 'nothing counted twice');
  m.batchApplied(2, 0.1);
  m.messageIn('PACKET_IN');
  const third = await m.text();
  t.match(third, /vino_flow_batches_total 3\n/);
  t.match(third, /vino_barrier_rtt_seconds_count 3\n/);
  t.match(third, /vino_openflow_messages_in_total\{type="PACKET_IN"\} 2\n/);
});
