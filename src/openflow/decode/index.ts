import { MessageTypeCode, OFP_HEADER_LEN, OFP_VERSION } from '../constants.js';
import { ofpError } from '../errors.js';
import { BufferReader } from '../reader.js';
import type { DecoderTable } from '../codec.js';
import type { Message } from '../types/index.js';
import { decoders as symmetric } from './symmetric.js';
import { decoders as switchConfig } from './switch.js';
import { decoders as asyncMessages } from './async.js';
import { decoders as flow } from './flow.js';
import { decoders as groupMeter } from './group-meter.js';
import { decoders as multipart } from './multipart.js';

const decoders: DecoderTable = {
  ...symmetric, ...switchConfig, ...asyncMessages, ...flow, ...groupMeter, ...multipart,
};

/**
 * Decodes exactly one message occupying `buf[start, start+length)` where the header's
 * length field must equal `length`. Payloads in the result are views into `buf`.
 * Throws OpenFlowError for anything malformed.
 */
export function decodeMessage(buf: Buffer, start = 0, length = buf.length - start): Message {
  if (length < OFP_HEADER_LEN) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', 0, `message of ${length} bytes is shorter than the 8-byte header`);
  }
  const version = buf[start]!;
  const typeCode = buf[start + 1]!;
  const declared = buf.readUInt16BE(start + 2);
  const xid = buf.readUInt32BE(start + 4);
  if (declared !== length) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', 2, `header length ${declared} but the message has ${length} bytes`);
  }
  // HELLO and ERROR have the same layout in every version; they are what a peer of another
  // version sends during negotiation, so we read them whatever the version.
  if (version !== OFP_VERSION && typeCode !== MessageTypeCode.HELLO && typeCode !== MessageTypeCode.ERROR) {
    throw ofpError('BAD_REQUEST', 'BAD_VERSION', 0, `version 0x${version.toString(16)} is not OpenFlow 1.3 (0x04)`);
  }
  const decode = decoders[typeCode];
  if (!decode) throw ofpError('BAD_REQUEST', 'BAD_TYPE', 1, `unknown message type ${typeCode}`);
  const r = new BufferReader(buf, start + OFP_HEADER_LEN, start + length, start);
  const msg = decode(r, xid, version);
  if (r.remaining !== 0) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', r.offset, `${r.remaining} unexpected trailing bytes`);
  }
  return msg;
}
