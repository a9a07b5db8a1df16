#!/usr/bin/env node
/**
 * vino-ofp: OpenFlow 1.3 wire bytes <-> JSON Lines, from the command line.
 *
 *   vino-ofp decode [FILE|-] [--hex]   messages (binary, or hex text) -> one JSON message a line
 *   vino-ofp encode [FILE|-] [--hex]   JSON messages -> wire bytes (or hex, one message a line)
 *
 * Output is written as each message is handled, so on bad input the good messages before it
 * are printed, then the error goes to stderr naming where it is (byte offset for decode, line
 * for encode) and the exit status is 1. Nothing of the bad message reaches stdout.
 */
import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { MessageFramer } from './framer.js';
import { decodeMessage } from './decode/index.js';
import { encodeMessage } from './encode/index.js';
import { OpenFlowError } from './errors.js';
import { MessageTypeName } from './constants.js';
import { JsonSyntaxError, parseJsonSequence } from '../json/index.js';
import { MessageJsonError, messageFromJSON, stringifyMessage } from './json.js';
import { readErrorReason } from '../input/read-file.js';
import { packageVersion } from '../package-version.js';

const USAGE = `Usage: vino-ofp decode [FILE|-] [--hex]
       vino-ofp encode [FILE|-] [--hex]
       vino-ofp -V|--version

Converts OpenFlow 1.3 messages between their wire form and JSON (the form described in
src/openflow/JSON.md). FILE defaults to standard input ("-").

  decode   Reads one or more concatenated messages (e.g. a TCP stream saved to a file)
           and writes one JSON object per message, one per line (JSON Lines).
           --hex: the input is hex text; whitespace and newlines are ignored.
  encode   Reads JSON messages, one per line (any whitespace between values is accepted,
           so pretty-printed messages work too), and writes the wire bytes.
           --hex: write lowercase hex instead, one message per line.

64-bit fields (cookies, datapath ids, counters) are exact JSON integers, also above 2^53.
Payloads ("data") are hex strings.

Exit status: 0 on success; 1 if the input is bad (the error on stderr names the byte offset
for decode or the line for encode; messages before it are written); 2 for a usage error.
`;

class UsageError extends Error {}

/** A bad input: printed as `vino-ofp <command>: <source>: <where>: <what>`. */
class InputError extends Error {}

interface Options {
  command: 'decode' | 'encode';
  file: string;
  hex: boolean;
}

function parseArgs(argv: string[]): Options | 'help' | 'version' {
  let command: Options['command'] | undefined;
  let file: string | undefined;
  let hex = false;
  let onlyPositional = false;
  for (const arg of argv) {
    if (!onlyPositional && (arg === '--help' || arg === '-h')) return 'help';
    if (!onlyPositional && (arg === '--version' || arg === '-V')) return 'version';
    if (!onlyPositional && arg === '--hex') hex = true;
    else if (!onlyPositional && arg === '--') onlyPositional = true;
    else if (!onlyPositional && arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg}; see \`vino-ofp --help\``);
    else if (command === undefined) {
      if (arg !== 'decode' && arg !== 'encode') throw new UsageError(`unknown command ${JSON.stringify(arg)} (expected decode or encode)`);
      command = arg;
    } else if (file === undefined) file = arg;
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)} (only one FILE is read)`);
  }
  if (!command) throw new UsageError('missing command (decode or encode)');
  return { command, file: file ?? '-', hex };
}

/** Writes to stdout, waiting when the pipe is full so large conversions stay in bounded memory. */
async function emit(out: Writable, data: string | Buffer): Promise<void> {
  if (data.length === 0) return;
  if (!out.write(data)) await once(out, 'drain');
}

function openInput(file: string): { stream: Readable } {
  return { stream: file === '-' ? process.stdin : createReadStream(file) };
}

function describeOpenFlowError(err: OpenFlowError): string {
  return `${err.typeName}/${err.codeName}: ${err.detail}`;
}

// ---------------------------------------------------------------------------------------------
// decode

/**
 * Hex text -> bytes, chunk by chunk. Remembers, for each input line, how many bytes came
 * before it, so a byte offset in an error can also be given as a line of the hex text.
 */
class HexDecoder {
  private nibble = -1;
  private nibbleLine = 0;
  private line = 1;
  private column = 0;
  private bytes = 0;
  /** [line, bytes decoded before that line], one entry per line that starts a byte. */
  private readonly lineStarts: [number, number][] = [[1, 0]];

  push(text: string): Buffer {
    const out = Buffer.allocUnsafe(Math.ceil(text.length / 2) + 1);
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      this.column++;
      if (c === 0x0a) {
        this.line++;
        this.column = 0;
        this.lineStarts.push([this.line, this.bytes + n]);
        continue;
      }
      if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0c || c === 0x0b) continue;
      const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (v < 0) {
        const shown = c < 0x20 || c === 0x7f ? `U+${c.toString(16).padStart(4, '0')}` : JSON.stringify(text.charAt(i));
        throw new InputError(`hex line ${this.line} column ${this.column}: ${shown} is not a hex digit`);
      }
      if (this.nibble < 0) {
        this.nibble = v;
        this.nibbleLine = this.line;
      } else {
        out[n++] = (this.nibble << 4) | v;
        this.nibble = -1;
      }
    }
    this.bytes += n;
    return out.subarray(0, n);
  }

  end(): void {
    if (this.nibble >= 0) throw new InputError(`hex line ${this.nibbleLine}: odd number of hex digits (the last byte has one digit)`);
  }

  /** The hex line where the byte at `offset` starts. */
  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]![1] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return this.lineStarts[lo]![0];
  }
}

async function decode(opts: Options, out: Writable): Promise<void> {
  const { stream } = openInput(opts.file);
  const framer = new MessageFramer();
  const hex = opts.hex ? new HexDecoder() : undefined;
  if (hex) stream.setEncoding('utf8');
  /** Stream offset of the next message's first byte. */
  let start = 0;
  let count = 0;
  /** A copy of the bytes the framer holds (a partial message), to report on them. */
  let pending = Buffer.alloc(0);
  const where = (offset: number) => `byte offset ${offset}${hex ? ` (hex line ${hex.lineOf(offset)})` : ''}`;

  for await (const piece of stream as AsyncIterable<Buffer | string>) {
    const chunk = hex ? hex.push(piece as string) : (piece as Buffer);
    let messages: Buffer[];
    let bad: OpenFlowError | undefined;
    try {
      messages = framer.push(chunk);
      // A bad header after good messages: those come back, the error waits in `failure`.
      if (framer.failure instanceof OpenFlowError) bad = framer.failure;
    } catch (err) {
      if (!(err instanceof OpenFlowError)) throw err;
      bad = err;
      messages = [];
    }
    let text = '';
    for (const raw of messages) {
      count++;
      let line: string;
      try {
        line = stringifyMessage(decodeMessage(raw));
      } catch (err) {
        if (!(err instanceof OpenFlowError)) throw err;
        await emit(out, text);
        const typeName = MessageTypeName[raw[1]!] ?? `unknown type ${raw[1]}`;
        throw new InputError(
          `${where(start + err.offset)}: ${describeOpenFlowError(err)} (message ${count}, ${typeName}, starts at byte offset ${start})`,
        );
      }
      text += line + '\n';
      start += raw.length;
    }
    await emit(out, text);
    if (bad) {
      throw new InputError(`${where(start + bad.offset)}: ${describeOpenFlowError(bad)} (message ${count + 1} header, at byte offset ${start})`);
    }
    const held = framer.buffered;
    if (held === 0) pending = Buffer.alloc(0);
    else if (held <= chunk.length) pending = Buffer.from(chunk.subarray(chunk.length - held));
    else pending = Buffer.concat([pending, chunk]);
  }
  hex?.end();
  if (framer.buffered > 0) {
    const declared = pending.length >= 4 ? ` of the ${pending.readUInt16BE(2)} its header announces` : '';
    throw new InputError(
      `${where(start)}: BAD_REQUEST/BAD_LEN: input ends after ${framer.buffered} bytes${declared} (message ${count + 1} is truncated)`,
    );
  }
}


// ---------------------------------------------------------------------------------------------
// encode

async function encode(opts: Options, out: Writable): Promise<void> {
  const { stream } = openInput(opts.file);
  stream.setEncoding('utf8');
  let input = '';
  for await (const piece of stream as AsyncIterable<string>) input += piece;
  if (input.charCodeAt(0) === 0xfeff) input = ' ' + input.slice(1); // keep columns: BOM -> space

  const values = parseJsonSequence(input);
  let n = 0;
  for (;;) {
    let item: IteratorResult<{ value: unknown; line: number }>;
    try {
      item = values.next();
    } catch (err) {
      if (err instanceof JsonSyntaxError) throw new InputError(`line ${err.line} column ${err.column}: JSON syntax error: ${err.reason}`);
      throw err;
    }
    if (item.done) return;
    n++;
    const { value, line } = item.value;
    let bytes: Buffer;
    try {
      bytes = encodeMessage(messageFromJSON(value));
    } catch (err) {
      if (err instanceof MessageJsonError) throw new InputError(`line ${line}: message ${n} is not valid: ${err.path}: ${err.reason}`);
      if (err instanceof OpenFlowError) {
        throw new InputError(`line ${line}: message ${n} cannot be encoded: ${describeOpenFlowError(err)} (at byte ${err.offset} of the message)`);
      }
      throw err;
    }
    await emit(out, opts.hex ? bytes.toString('hex') + '\n' : bytes);
  }
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  let opts: Options | 'help' | 'version';
  try {
    opts = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`vino-ofp: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts === 'version') {
    process.stdout.write(`vino-ofp ${packageVersion()}\n`);
    return 0;
  }
  const source = opts.file === '-' ? 'stdin' : opts.file;
  try {
    if (opts.command === 'decode') await decode(opts, process.stdout);
    else await encode(opts, process.stdout);
    return 0;
  } catch (err) {
    if (err instanceof InputError) {
      process.stderr.write(`vino-ofp ${opts.command}: ${source}: ${err.message}\n`);
      return 1;
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code && e.syscall) {
      // Cannot open/read the input: ENOENT, EACCES, EISDIR...
      process.stderr.write(`vino-ofp ${opts.command}: cannot read ${source}: ${readErrorReason(e)}\n`);
      return 1;
    }
    throw err;
  }
}

// A closed pipe downstream (`vino-ofp decode x | head`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`vino-ofp: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
