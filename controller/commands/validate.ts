/** `vino-controller validate FILE...`: checks topology files and lists every problem. */
import { parseArgs } from 'node:util';
import { analyzeTopologyFile } from '../../src/topology/load.js';
import { formatProblem } from '../../src/topology/problems.js';
import { summarize } from '../../src/topology/query.js';
import { EXIT_INVALID, EXIT_OK, UsageError, type Command } from './command.js';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check topology files (JSON) and list every problem',
  help: `Usage: vino-controller validate [--resolved] FILE...

Checks each topology file: JSON syntax, the schema (topologies/schema.json) and the whole-file
rules (references, unique names/addresses/VNIs/datapath ids, overlay subnet, connectivity).

For a valid file prints one summary line; for an invalid one prints every problem on stderr,
one a line, as FILE:LINE:COLUMN: JSON-PATH: MESSAGE.

Options:
  --resolved   print the resolved topology (every default and derived identifier) as JSON
               instead of the summary; one FILE only
  -h, --help   show this help

Exit status: 0 all files valid, 1 a file is invalid or unreadable, 2 bad command line.
`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { resolved: { type: 'boolean', default: false } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length === 0) throw new UsageError('missing FILE');
    if (values.resolved && positionals.length > 1) throw new UsageError('--resolved takes exactly one FILE');
    let status = EXIT_OK;
    for (const file of positionals) {
      const { topology, problems } = await analyzeTopologyFile(file);
      if (!topology) {
        status = EXIT_INVALID;
        for (const p of problems) io.err(formatProblem(p, file) + '\n');
        io.err(`${file}: invalid (${problems.length} problem${problems.length === 1 ? '' : 's'})\n`);
        continue;
      }
      if (values.resolved) io.out(JSON.stringify(topology, null, 2) + '\n');
      else io.out(`${file}: ok: topology "${topology.name}": ${summarize(topology)}\n`);
    }
    return status;
  },
};
