import type { BufferReader } from './reader.js';
import type { BufferWriter } from './writer.js';
import type { Message, MessageOfType } from './types/index.js';

/**
 * Decodes one message body. `r` starts after the 8-byte header and ends at the message end
 * given by the header; the dispatcher fails with BAD_LEN if a decoder leaves bytes unread.
 */
export type BodyDecoder = (r: BufferReader, xid: number, version: number) => Message;
/** Decoders of one message family, by OFPT_* code. */
export type DecoderTable = Partial<Record<number, BodyDecoder>>;

/** Writes one message body after the header (which the dispatcher writes and patches). */
export type BodyEncoder<M extends Message> = (w: BufferWriter, msg: M) => void;
/** Encoders of one message family, by OFPT_* name. */
export type EncoderTable = { [K in Message['type']]?: BodyEncoder<MessageOfType<K>> };
