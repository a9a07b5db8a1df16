/** `vino-controller import-dsl FILE.py`: converts the paper's topology DSL to our JSON. */
import { writeFile } from 'node:fs/promises';
import { InputFileError, readInputFile } from '../../src/input/read-file.js';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { importDsl } from '../../src/topology/dsl.js';
import { formatTopologyJson } from '../../src/topology/format.js';
import { parseCidr } from '../../src/topology/net.js';
import { EXIT_INVALID, EXIT_OK, UsageError, type Command } from './command.js';
import { formatProblemList, TOPOLOGY_INPUT_OPTIONS, topologyInputHelp, topologyInputLimits } from './topology-input.js';

export const importDslCommand: Command = {
  name: 'import-dsl',
  summary: "convert a topology written in the ViNO paper's Python DSL to JSON",
  help: `Usage: vino-controller import-dsl [--name NAME] [--overlay-subnet CIDR] [-o OUT.json] FILE.py

Reads a topology in the ViNO paper's DSL (nodes['x'] = {...} and topology['x'] = [...]
assignments of literal values) and prints the equivalent topology JSON, validated. The file
is parsed, never executed: anything but literal assignments is refused with its line and
column.

Options:
  --name NAME             topology name (default: the file name without extension)
  --overlay-subnet CIDR   overlay subnet (default: 192.168.200.0/24, the paper's)
  -o, --output OUT.json   write the JSON to OUT.json instead of stdout
${topologyInputHelp(26)}
  -h, --help              show this help

Exit status: 0 converted, 1 syntax error, invalid topology or unreadable file, 2 bad command line.
`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        name: { type: 'string' },
        'overlay-subnet': { type: 'string' },
        output: { type: 'string', short: 'o' },
        ...TOPOLOGY_INPUT_OPTIONS,
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing FILE.py' : 'exactly one FILE.py');
    const subnet = values['overlay-subnet'];
    if (subnet !== undefined) {
      const r = parseCidr(subnet);
      if (!r.ok) throw new UsageError(`--overlay-subnet: ${r.message}`);
    }
    const file = positionals[0]!;
    const limits = topologyInputLimits(values);
    let src: string;
    try {
      src = await readInputFile(file, { maxBytes: limits.maxBytes, option: '--max-topology-bytes' });
    } catch (e) {
      if (!(e instanceof InputFileError)) throw e;
      io.err(`vino-controller import-dsl: ${e.message}\n`);
      return EXIT_INVALID;
    }
    const result = importDsl(src, {
      sourceName: basename(file),
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(subnet !== undefined ? { overlaySubnet: subnet } : {}),
    });
    if (!result.ok) {
      io.err(formatProblemList(result.problems, file, limits.maxProblems));
      if (result.problems.some((p) => p.message.includes('outside the overlay subnet'))) {
        io.err(`hint: pass --overlay-subnet CIDR when the DSL's addresses are not in ${subnet ?? '192.168.200.0/24'}\n`);
      }
      io.err(`${file}: not imported (${result.problems.length} problem${result.problems.length === 1 ? '' : 's'})\n`);
      return EXIT_INVALID;
    }
    const json = formatTopologyJson(result.file);
    if (values.output !== undefined) {
      await writeFile(values.output, json);
      io.err(`wrote ${values.output}\n`);
    } else {
      io.out(json);
    }
    return EXIT_OK;
  },
};
