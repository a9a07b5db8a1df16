import { OFP_VERSION } from '../constants.js';
import { ofpError } from '../errors.js';
import type { EncoderTable } from '../codec.js';
import type { BufferWriter } from '../writer.js';
import type {
  EchoReply, EchoRequest, ErrorMessage, ExperimenterMessage, Hello, HelloElement,
} from '../types/symmetric.js';
import { array, bytes, messageBase, object, show, u16, u32 } from './fields.js';

const OFPHET_VERSIONBITMAP = 1;
const OFPET_EXPERIMENTER = 0xffff;
const FIRST_VERSION_WITH_EXPERIMENTER_ERROR = 3;

/**
 * The header's version as encodeMessageInto wrote it (OFP_VERSION when absent); refuses one
 * that the 8-bit field would have cut.
 */
function headerVersion(version: number | undefined, what: string): number {
  if (typeof version !== 'number') return OFP_VERSION;
  if ((version & 0xff) !== version) {
    throw ofpError('BAD_REQUEST', 'BAD_VERSION', 0, `${what} version must be an integer in 0..255, got ${version}`);
  }
  return version;
}

function encodeHelloElement(w: BufferWriter, base: number, el: HelloElement): void {
  const start = w.pos;
  object(w, base, el, 'HELLO element');
  if (el.type === 'VERSIONBITMAP') {
    const versions = array(w, base, el.versions, 'VERSIONBITMAP versions');
    // Canonical form only (ascending, no duplicates), so that decoding gives back the same list.
    let prev = -1;
    for (const v of versions) {
      if (!Number.isInteger(v) || v <= prev) {
        throw ofpError('HELLO_FAILED', 'INCOMPATIBLE', start - base,
          `VERSIONBITMAP versions must be strictly ascending integers, got ${show(versions)}`);
      }
      prev = v;
    }
    const needed = prev < 0 ? 0 : (prev >>> 5) + 1;
    const nWords = el.words ?? needed;
    if (!Number.isInteger(nWords) || nWords < needed || 4 + nWords * 4 > 0xffff) {
      throw ofpError('HELLO_FAILED', 'INCOMPATIBLE', start - base,
        `VERSIONBITMAP words ${show(el.words)} cannot hold version ${prev}`);
    }
    w.u16(OFPHET_VERSIONBITMAP).u16(4 + nWords * 4);
    let i = 0;
    for (let word = 0; word < nWords; word++) {
      let bits = 0;
      while (i < versions.length && versions[i]! >>> 5 === word) bits |= 1 << (versions[i++]! & 31);
      w.u32(bits);
    }
  } else if (el.type === 'UNKNOWN') {
    u16(w, base, el.elemType, 'HELLO element type');
    if (el.elemType === OFPHET_VERSIONBITMAP) {
      throw ofpError('HELLO_FAILED', 'INCOMPATIBLE', start - base, 'an UNKNOWN hello element cannot use the VERSIONBITMAP type code 1');
    }
    if (!(el.data instanceof Uint8Array) || el.data.length > 0xffff - 4) {
      throw ofpError('BAD_REQUEST', 'BAD_LEN', start - base, 'HELLO element data must be a Buffer of at most 65531 bytes');
    }
    w.u16(4 + el.data.length).bytes(el.data);
  } else {
    throw ofpError('HELLO_FAILED', 'INCOMPATIBLE', start - base,
      `unknown hello element type ${show((el as { type: unknown }).type)}`);
  }
  w.padTo(8, start);
}

function encodeHello(w: BufferWriter, msg: Hello): void {
  const base = messageBase(w);
  const version = headerVersion(msg.version, 'HELLO');
  if (version < OFP_VERSION) {
    // Older versions define no elements: a HELLO of theirs is a header plus an opaque body.
    if (array(w, base, msg.elements, 'HELLO elements').length > 0) {
      throw ofpError('HELLO_FAILED', 'INCOMPATIBLE', 8, `HELLO of version ${version} cannot carry hello elements`);
    }
    if (msg.data !== undefined) bytes(w, base, msg.data, 'HELLO data');
    return;
  }
  if (msg.data !== undefined) {
    throw ofpError('HELLO_FAILED', 'INCOMPATIBLE', 8, `HELLO of version ${version} carries elements, not opaque data`);
  }
  for (const el of array(w, base, msg.elements, 'HELLO elements')) encodeHelloElement(w, base, el);
}

function encodeError(w: BufferWriter, msg: ErrorMessage): void {
  const base = messageBase(w);
  const version = headerVersion(msg.version, 'ERROR');
  if ('experimenter' in msg) {
    if (msg.errorType !== OFPET_EXPERIMENTER || version < FIRST_VERSION_WITH_EXPERIMENTER_ERROR) {
      throw ofpError('BAD_REQUEST', 'BAD_TYPE', 8,
        `an experimenter ERROR needs errorType 0xffff and version >= 3, got type ${msg.errorType} version ${version}`);
    }
    w.u16(OFPET_EXPERIMENTER);
    u16(w, base, msg.expType, 'ERROR expType');
    u32(w, base, msg.experimenter, 'ERROR experimenter');
  } else {
    if (msg.errorType === OFPET_EXPERIMENTER && version >= FIRST_VERSION_WITH_EXPERIMENTER_ERROR) {
      throw ofpError('BAD_REQUEST', 'BAD_TYPE', 8, 'ERROR of type 0xffff (EXPERIMENTER) needs expType and experimenter instead of code');
    }
    u16(w, base, msg.errorType, 'ERROR errorType');
    u16(w, base, msg.code, 'ERROR code');
  }
  bytes(w, base, msg.data, 'ERROR data');
}

function encodeEchoRequest(w: BufferWriter, msg: EchoRequest): void {
  bytes(w, messageBase(w), msg.data, 'ECHO_REQUEST data');
}

function encodeEchoReply(w: BufferWriter, msg: EchoReply): void {
  bytes(w, messageBase(w), msg.data, 'ECHO_REPLY data');
}

function encodeExperimenter(w: BufferWriter, msg: ExperimenterMessage): void {
  const base = messageBase(w);
  u32(w, base, msg.experimenter, 'EXPERIMENTER experimenter');
  u32(w, base, msg.expType, 'EXPERIMENTER expType');
  bytes(w, base, msg.data, 'EXPERIMENTER data');
}

export const encoders: EncoderTable = {
  HELLO: encodeHello,
  ERROR: encodeError,
  ECHO_REQUEST: encodeEchoRequest,
  ECHO_REPLY: encodeEchoReply,
  EXPERIMENTER: encodeExperimenter,
};
