/**
 * The event stream's token for clients that cannot send an Authorization header (browsers):
 * offered as a WebSocket subprotocol, never in the URL (URLs end up in logs and history).
 * The client offers `vino.events` and `vino.bearer.<token as base64url>`; the server accepts
 * only `vino.events`, so the token is never echoed back.
 */
export const EVENTS_PROTOCOL = 'vino.events';
export const BEARER_PROTOCOL_PREFIX = 'vino.bearer.';

/** The token carried by a Sec-WebSocket-Protocol header, if any. */
export function tokenFromProtocols(header: string | undefined): string | undefined {
  for (const p of (header ?? '').split(',')) {
    const proto = p.trim();
    if (proto.startsWith(BEARER_PROTOCOL_PREFIX)) return Buffer.from(proto.slice(BEARER_PROTOCOL_PREFIX.length), 'base64url').toString('utf8');
  }
  return undefined;
}
