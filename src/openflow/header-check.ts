/**
 * What a message header may announce, judged before its body arrives: a peer that announces
 * a body its type cannot have, or speaks another version, gets refused at once instead of
 * being waited for (a garbage header would otherwise hold the session for up to 64 KiB).
 */
import { MessageTypeCode as T, OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN, OFP_VERSION } from './constants.js';
import { ofpError } from './errors.js';

/** [min, max] total length (header included) of each OpenFlow 1.3 message type, by type code. */
export const MESSAGE_LENGTH_BOUNDS: Readonly<Record<number, readonly [number, number]>> = (() => {
  const fixed = (n: number) => [n, n] as const;
  const atLeast = (n: number) => [n, OFP_MAX_MESSAGE_LEN] as const;
  return {
    [T.HELLO]: atLeast(8),
    [T.ERROR]: atLeast(12),
    [T.ECHO_REQUEST]: atLeast(8),
    [T.ECHO_REPLY]: atLeast(8),
    [T.EXPERIMENTER]: atLeast(16),
    [T.FEATURES_REQUEST]: fixed(8),
    [T.FEATURES_REPLY]: fixed(32),
    [T.GET_CONFIG_REQUEST]: fixed(8),
    [T.GET_CONFIG_REPLY]: fixed(12),
    [T.SET_CONFIG]: fixed(12),
    // header, buffer_id, total_len, reason, table_id, cookie, empty match (8), pad (2)
    [T.PACKET_IN]: atLeast(34),
    [T.FLOW_REMOVED]: atLeast(56),
    [T.PORT_STATUS]: fixed(80),
    [T.PACKET_OUT]: atLeast(24),
    [T.FLOW_MOD]: atLeast(56),
    [T.GROUP_MOD]: atLeast(16),
    [T.PORT_MOD]: fixed(40),
    [T.TABLE_MOD]: fixed(16),
    [T.MULTIPART_REQUEST]: atLeast(16),
    [T.MULTIPART_REPLY]: atLeast(16),
    [T.BARRIER_REQUEST]: fixed(8),
    [T.BARRIER_REPLY]: fixed(8),
    [T.QUEUE_GET_CONFIG_REQUEST]: fixed(16),
    [T.QUEUE_GET_CONFIG_REPLY]: atLeast(16),
    [T.ROLE_REQUEST]: fixed(24),
    [T.ROLE_REPLY]: fixed(24),
    [T.GET_ASYNC_REQUEST]: fixed(8),
    [T.GET_ASYNC_REPLY]: fixed(32),
    [T.SET_ASYNC]: fixed(32),
    [T.METER_MOD]: atLeast(16),
  };
})();

/**
 * Judges version, type and announced length of a header; throws OpenFlowError with the error a
 * peer should get. `negotiated`: whether the peer's HELLO was seen. Before it, only a HELLO (or
 * an ERROR, which a peer of another version may send about our HELLO) may carry another
 * version, and a wrong version fails the negotiation (HELLO_FAILED/INCOMPATIBLE); after it,
 * everything must be 1.3 (BAD_REQUEST/BAD_VERSION).
 */
export function checkHeader(version: number, type: number, length: number, negotiated: boolean): void {
  if (length < OFP_HEADER_LEN) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', 2, `header length ${length} is shorter than the 8-byte header`);
  }
  if (version !== OFP_VERSION) {
    const negotiating = type === T.HELLO || type === T.ERROR;
    if (!negotiated && negotiating) return;
    const what = `version 0x${version.toString(16).padStart(2, '0')} (type ${type}, length ${length}) is not OpenFlow 1.3 (0x04)`;
    if (!negotiated) throw ofpError('HELLO_FAILED', 'INCOMPATIBLE', 0, `${what} before the HELLO exchange`);
    throw ofpError('BAD_REQUEST', 'BAD_VERSION', 0, what);
  }
  const bounds = MESSAGE_LENGTH_BOUNDS[type];
  if (!bounds) throw ofpError('BAD_REQUEST', 'BAD_TYPE', 1, `unknown message type ${type}`);
  const [min, max] = bounds;
  if (length < min || length > max) {
    const allowed = min === max ? `exactly ${min}` : `${min}..${max}`;
    throw ofpError('BAD_REQUEST', 'BAD_LEN', 2, `type ${type} announces ${length} bytes; its length is ${allowed}`);
  }
}
