import { MessageTypeCode, OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN, OFP_VERSION } from '../constants.js';
import { ofpError } from '../errors.js';
import { BufferWriter } from '../writer.js';
import type { BodyEncoder, EncoderTable } from '../codec.js';
import type { Message } from '../types/index.js';
import { encoders as symmetric } from './symmetric.js';
import { encoders as switchConfig } from './switch.js';
import { encoders as asyncMessages } from './async.js';
import { encoders as flow } from './flow.js';
import { encoders as groupMeter } from './group-meter.js';
import { encoders as multipart } from './multipart.js';

const encoders: EncoderTable = {
  ...symmetric, ...switchConfig, ...asyncMessages, ...flow, ...groupMeter, ...multipart,
};

/**
 * Appends one message (header + body) to `w`. Many messages can be written back to back into
 * one writer and sent with one socket write. Throws OpenFlowError (leaving `w` as it was) if
 * the message cannot be encoded.
 */
export function encodeMessageInto(w: BufferWriter, msg: Message): void {
  const encode = encoders[msg.type] as BodyEncoder<Message> | undefined;
  const typeCode = MessageTypeCode[msg.type];
  if (!encode || typeCode === undefined) {
    throw ofpError('BAD_REQUEST', 'BAD_TYPE', 1, `cannot encode message type ${String(msg.type)}`);
  }
  const xid = msg.xid ?? 0;
  if (typeof xid !== 'number' || !Number.isInteger(xid) || xid < 0 || xid > 0xffffffff) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', 4, `xid must be an integer in [0, 2^32), got ${String(xid)}`);
  }
  const start = w.pos;
  const version = 'version' in msg && typeof msg.version === 'number' ? msg.version : OFP_VERSION;
  w.u8(version).u8(typeCode).u16(0).u32(xid);
  try {
    encode(w, msg);
  } catch (err) {
    w.pos = start;
    throw err;
  }
  const length = w.pos - start;
  if (length > OFP_MAX_MESSAGE_LEN) {
    w.pos = start;
    throw ofpError('BAD_REQUEST', 'BAD_LEN', 2, `encoded ${msg.type} is ${length} bytes, over the 65535-byte limit`);
  }
  w.patchU16(start + 2, length);
}

/**
 * Messages are encoded straight into a shared slab and handed out as views of it (no copy per
 * message), the way Node pools small Buffers; a slab is never written again where a view was
 * handed out. A view keeps its slab (16 KiB) alive, as a pooled Buffer does.
 */
const SLAB_SIZE = 16 * 1024;
const slab = new BufferWriter(SLAB_SIZE);

/** Encodes one message into a Buffer of its own bytes (a view into a private slab). */
export function encodeMessage(msg: Message): Buffer {
  if (slab.buf.length - slab.pos < 2048) {
    slab.buf = Buffer.allocUnsafe(SLAB_SIZE);
    slab.pos = 0;
  }
  const start = slab.pos;
  encodeMessageInto(slab, msg);
  return slab.buf.subarray(start, slab.pos);
}

export { OFP_HEADER_LEN };
