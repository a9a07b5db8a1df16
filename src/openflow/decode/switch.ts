import type { DecoderTable } from '../codec.js';
export const decoders: DecoderTable = {};
