#!/usr/bin/env node
/**
 * `vino-controller`: the single command-line entry. Dispatches to a subcommand module
 * (controller/commands/*); add new ones to COMMANDS. Running without a subcommand is reserved
 * for the controller itself (DEFAULT_COMMAND).
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { EXIT_OK, EXIT_USAGE, processIO, UsageError, type Command, type CommandIO } from './commands/command.js';
import { importDslCommand } from './commands/import-dsl.js';
import { validateCommand } from './commands/validate.js';
import { runCommand as controllerCommand } from './commands/run.js';
import { testbedCommand } from './commands/testbed.js';
import { deprovisionCommand, provisionCommand } from './commands/provision.js';
import { packageVersion } from '../src/package-version.js';
import { OPERATOR_COMMANDS } from './commands/operator.js';
import { reloadCommand } from './commands/reload.js';

const COMMANDS: readonly Command[] = [controllerCommand, validateCommand, importDslCommand, provisionCommand, deprovisionCommand, testbedCommand, reloadCommand, ...OPERATOR_COMMANDS];

/** Runs when no subcommand is named: the controller itself. */
const DEFAULT_COMMAND: Command | undefined = controllerCommand;

function usage(): string {
  const width = COMMANDS.reduce((w, c) => Math.max(w, c.name.length), 0);
  return `Usage: vino-controller COMMAND [OPTIONS] [ARGS]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
  -h, --help     show this help (vino-controller COMMAND --help: help of a command)
  -V, --version  print the version

Exit status: 0 success, 1 invalid input or a refused request (see the command's help), 2 bad
command line; commands that talk to a running controller: 3 cannot reach it, 4 wrong token.
`;
}

const isHelp = (a: string | undefined) => a === '-h' || a === '--help';

/**
 * node:util parseArgs errors (ERR_PARSE_ARGS_*) rewritten as one short sentence pointing at
 * the command's help; null for any other error. Node's own texts talk about its API.
 */
export function argumentErrorInOurWords(e: unknown, command: string): string | null {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return null;
  const message = (e as Error).message;
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  const quoted = /'([^']*)'/.exec(message)?.[1];
  const seeHelp = `see \`vino-controller ${command} --help\``;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option ?? quoted ?? message} for \`${command}\`; ${seeHelp}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/does not take an argument/.test(message)) return `option ${option} takes no value; ${seeHelp}`;
    return `option ${option} needs a value; ${seeHelp}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument "${quoted ?? ''}" for \`${command}\`; ${seeHelp}`;
  return `${message}; ${seeHelp}`;
}

async function runCommand(cmd: Command, args: string[], io: CommandIO): Promise<number> {
  if (args.some(isHelp)) {
    io.out(cmd.help);
    return EXIT_OK;
  }
  try {
    return await cmd.run(args, io);
  } catch (e) {
    const parseArgsError = argumentErrorInOurWords(e, cmd.name);
    if (parseArgsError !== null) {
      io.err(`vino-controller ${cmd.name}: ${parseArgsError}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof UsageError) {
      io.err(`vino-controller ${cmd.name}: ${e.message}\n${cmd.help.split('\n')[0]}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

export async function main(argv: string[], io: CommandIO = processIO): Promise<number> {
  const [first, ...rest] = argv;
  if (isHelp(first)) {
    io.out(usage());
    return EXIT_OK;
  }
  if (first === '-V' || first === '--version') {
    io.out(`vino-controller ${packageVersion()}\n`);
    return EXIT_OK;
  }
  if (first === 'help') {
    const cmd = COMMANDS.find((c) => c.name === rest[0]);
    if (rest.length > 0 && !cmd) {
      io.err(`vino-controller: unknown command "${rest[0]}"\n`);
      return EXIT_USAGE;
    }
    io.out(cmd ? cmd.help : usage());
    return EXIT_OK;
  }
  if (first === undefined || first.startsWith('-')) {
    // Options alone run the controller; nothing at all gets the overview.
    if (DEFAULT_COMMAND && first !== undefined) return runCommand(DEFAULT_COMMAND, argv, io);
    io.err(
      first === undefined
        ? `vino-controller: missing --topology FILE: running the controller needs the topology file (vino-controller --topology FILE), or name a command.\n\n${usage()}`
        : `vino-controller: unknown option "${first}"\n${usage()}`,
    );
    return EXIT_USAGE;
  }
  const cmd = COMMANDS.find((c) => c.name === first);
  if (!cmd) {
    io.err(`vino-controller: unknown command "${first}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
    return EXIT_USAGE;
  }
  return runCommand(cmd, rest, io);
}

/** True when this file is the program being run (also through npm's bin symlink). */
function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

const LEFTOVER_WAIT_MS = 3000;

if (isMain()) {
  main(process.argv.slice(2)).then(
    (status) => {
      process.exitCode = status;
      // The command is done: anything still holding the event loop (a socket or timer someone
      // forgot) must not keep the process alive. Named on stderr, so it can be fixed.
      setTimeout(() => {
        process.stderr.write(`vino-controller: still running ${LEFTOVER_WAIT_MS} ms after the command ended (${process.getActiveResourcesInfo().join(', ')}): exiting\n`);
        process.exit(status);
      }, LEFTOVER_WAIT_MS).unref();
    },
    (e: unknown) => {
      process.stderr.write(`vino-controller: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
