/**
 * A `vino-controller` subcommand. Each lives in its own module under controller/commands and
 * is registered in controller/cli.ts.
 */

export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
}

export const processIO: CommandIO = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

export interface Command {
  name: string;
  /** One line for the command list in `vino-controller --help`. */
  summary: string;
  /** Full help (`vino-controller COMMAND --help`), starting with the usage line. */
  help: string;
  /** Runs with the arguments after the command name; resolves to the exit status. */
  run(args: string[], io: CommandIO): Promise<number>;
}

/** Exit statuses shared by the commands. */
export const EXIT_OK = 0;
/** The input is wrong (invalid topology, syntax error, unreadable file). */
export const EXIT_INVALID = 1;
/** The command line is wrong. */
export const EXIT_USAGE = 2;

/** Thrown for a bad command line; the dispatcher prints it with the command's usage hint. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
