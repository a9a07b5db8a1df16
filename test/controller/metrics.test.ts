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
