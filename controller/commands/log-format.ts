/**
 * The controller's log output: `pretty` (pino-pretty, for a person at a terminal) or `json`
 * (one object a line, for log shippers), both with level names and ISO times so that neither
 * needs a lookup table to be read.
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'pretty' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['pretty', 'json'];

/** Pretty on a terminal, JSON when the output goes to a file or pipe (a machine reads it). */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stdout): LogFormat {
  return stream.isTTY ? 'pretty' : 'json';
}

export function parseLogFormat(text: string): LogFormat {
  if ((LOG_FORMATS as readonly string[]).includes(text)) return text as LogFormat;
  throw new Error(`--log-format: expected pretty or json, got "${text}"`);
}

export interface LoggerOptions {
  level: string;
  format: LogFormat;
  /** Where the lines go (default stdout). */
  destination?: NodeJS.WritableStream;
}

export function makeLogger(o: LoggerOptions): Logger {
  const base = { app: 'vino-controller' };
  const out = o.destination ?? process.stdout;
  if (o.format === 'pretty') {
    const isTTY = (out as { isTTY?: boolean }).isTTY === true;
    // Synchronous, in-process: no worker thread, and nothing lost when the process exits.
    const stream = pretty({ destination: out, colorize: isTTY, sync: true, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l o', ignore: 'pid,hostname,app' });
    return pino({ level: o.level, base }, stream);
  }
  const options = {
    level: o.level,
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  // Synchronous writes to stdout: the last lines (the stop) must not be lost at exit.
  return pino(options, o.destination ?? pino.destination({ dest: 1, sync: true }));
}
