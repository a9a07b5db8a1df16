/** `vino-controller validate FILE...`: checks topology files and lists every problem. */
import { parseArgs } from 'node:util';
import { summarize } from '../../src/topology/query.js';
import { EXIT_INVALID, EXIT_OK, UsageError, type Command } from './command.js';
import { formatProblemList, readTopology, TOPOLOGY_INPUT_OPTIONS, topologyInputHelp, topologyInputLimits } from './topology-input.js';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check topology files (JSON) and list every problem',
  help: `Usage: vino-controller validate [--resolved] FILE...

Checks each topology file: JSON syntax, the schema (schema/topology.schema.json) and the whole-file
rules (references, unique names/addresses/VNIs/datapath ids, overlay subnet, connectivity).

Every FILE is checked and reported, valid or not: for a valid file one summary line on
stdout; for an invalid one its problems on stderr, one a line, as
FILE:LINE:COLUMN: JSON-PATH: MESSAGE (the first --max-problems, then how many more), and a
closing "FILE: invalid (N problems)" line.

Options:
  --resolved              print the resolved topology (every default and derived identifier)
                          as JSON instead of the summary; one FILE only
${topologyInputHelp(26)}
  -h, --help              show this help

Exit status: 0 all files valid, 1 a file is invalid or unreadable, 2 bad command line.
`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { resolved: { type: 'boolean', default: false }, ...TOPOLOGY_INPUT_OPTIONS },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length === 0) throw new UsageError('missing FILE');
    if (values.resolved && positionals.length > 1) throw new UsageError('--resolved takes exactly one FILE');
    const limits = topologyInputLimits(values);
    let status = EXIT_OK;
    for (const file of positionals) {
      const { topology, problems, readError } = await readTopology(file, limits);
      if (readError) {
        status = EXIT_INVALID;
        io.err(`vino-controller validate: ${readError.message}\n`);
        continue;
      }
      if (!topology) {
        status = EXIT_INVALID;
        io.err(formatProblemList(problems, file, limits.maxProblems));
        io.err(`${file}: invalid (${problems.length} problem${problems.length === 1 ? '' : 's'})\n`);
        continue;
      }
      if (values.resolved) io.out(JSON.stringify(topology, null, 2) + '\n');
      else io.out(`${file}: ok: topology "${topology.name}": ${summarize(topology)}\n`);
    }
    return status;
  },
};
