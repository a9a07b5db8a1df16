import { MessageTypeCode, OFP_VERSION } from '../constants.js';
import { ofpError } from '../errors.js';
import type { DecoderTable } from '../codec.js';
import type { BufferReader } from '../reader.js';
import type {
  EchoReply, EchoRequest, ErrorMessage, ExperimenterMessage, Hello, HelloElement,
} from '../types/symmetric.js';

const OFPHET_VERSIONBITMAP = 1;
const OFPET_EXPERIMENTER = 0xffff;
/** OpenFlow 1.2 (wire version 3) introduced experimenter errors. */
const FIRST_VERSION_WITH_EXPERIMENTER_ERROR = 3;

function decodeHello(r: BufferReader, xid: number, version: number): Hello {
  const elements: HelloElement[] = [];
  const msg: Hello = { type: 'HELLO', xid, version, elements };
  if (version < OFP_VERSION) {
    // 1.0-1.2 define no hello elements and require the body to be ignored: keep it opaque.
    if (r.remaining > 0) msg.data = r.rest();
    return msg;
  }
  while (r.remaining > 0) {
    const at = r.offset;
    r.need(4, 'hello element header');
    const elemType = r.u16();
    const length = r.u16();
    if (length < 4) {
      throw ofpError('BAD_REQUEST', 'BAD_LEN', at + 2, `hello element length ${length} is shorter than its 4-byte header`);
    }
    const body = r.sub(length - 4, () =>
      ofpError('BAD_REQUEST', 'BAD_LEN', at + 2, `hello element length ${length} runs past the end of the message`));
    // Elements are padded to a multiple of 8; the length excludes the padding.
    const pad = ((length + 7) & ~7) - length;
    if (pad > r.remaining) {
      throw ofpError('BAD_REQUEST', 'BAD_LEN', r.offset, `hello element at offset ${at} lacks its ${pad} bytes of padding`);
    }
    r.skip(pad);
    if (elemType === OFPHET_VERSIONBITMAP) {
      if ((length - 4) % 4 !== 0) {
        throw ofpError('BAD_REQUEST', 'BAD_LEN', at + 2, `VERSIONBITMAP length ${length} is not 4 + a multiple of 4`);
      }
      const nWords = (length - 4) / 4;
      const versions: number[] = [];
      for (let i = 0; i < nWords; i++) {
        const word = body.u32();
        for (let bit = 0; bit < 32; bit++) if ((word >>> bit) & 1) versions.push(i * 32 + bit);
      }
      const needed = versions.length === 0 ? 0 : (versions[versions.length - 1]! >>> 5) + 1;
      elements.push(nWords === needed ? { type: 'VERSIONBITMAP', versions } : { type: 'VERSIONBITMAP', versions, words: nWords });
    } else {
      elements.push({ type: 'UNKNOWN', elemType, data: body.rest() });
    }
  }
  return msg;
}

function decodeError(r: BufferReader, xid: number, version: number): ErrorMessage {
  const errorType = r.u16();
  if (errorType === OFPET_EXPERIMENTER && version >= FIRST_VERSION_WITH_EXPERIMENTER_ERROR) {
    const expType = r.u16();
    const experimenter = r.u32();
    return { type: 'ERROR', xid, version, errorType, expType, experimenter, data: r.rest() };
  }
  const code = r.u16();
  return { type: 'ERROR', xid, version, errorType, code, data: r.rest() };
}

function decodeEchoRequest(r: BufferReader, xid: number): EchoRequest {
  return { type: 'ECHO_REQUEST', xid, data: r.rest() };
}

function decodeEchoReply(r: BufferReader, xid: number): EchoReply {
  return { type: 'ECHO_REPLY', xid, data: r.rest() };
}

function decodeExperimenter(r: BufferReader, xid: number): ExperimenterMessage {
  const experimenter = r.u32();
  const expType = r.u32();
  return { type: 'EXPERIMENTER', xid, experimenter, expType, data: r.rest() };
}

export const decoders: DecoderTable = {
  [MessageTypeCode.HELLO]: decodeHello,
  [MessageTypeCode.ERROR]: decodeError,
  [MessageTypeCode.ECHO_REQUEST]: decodeEchoRequest,
  [MessageTypeCode.ECHO_REPLY]: decodeEchoReply,
  [MessageTypeCode.EXPERIMENTER]: decodeExperimenter,
};
