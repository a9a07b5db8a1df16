import type { EncoderTable } from '../codec.js';
export const encoders: EncoderTable = {};
