/** `vino-controller reload --topology FILE`: hands a new topology to the running controller (PUT /api/v1/topology). */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { analyzeTopologyText } from '../../src/topology/load.js';
import { formatProblem } from '../../src/topology/problems.js';
import { EXIT_INVALID, EXIT_OK, UsageError, type Command } from './command.js';

export const reloadCommand: Command = {
  name: 'reload',
  summary: 'apply an edited topology to the running controller, without a restart',
  help: `Usage: vino-controller reload --topology FILE [OPTIONS]

Sends FILE to the running controller's API (PUT /api/v1/topology). The file is checked first,
here and by the controller: any problem is listed with its JSON path and nothing changes.
Otherwise the controller prints what changed (nodes, links, containers, attributes), installs
new paths before it removes old ones, and answers once every switch confirmed its flows.
Sending SIGHUP to the controller reloads the file it was started with.

Options:
  --topology FILE     the edited topology (JSON); required
  --api URL           the controller's API (default http://127.0.0.1:8080)
  --api-token TOKEN   bearer token (default: $VINO_API_TOKEN)
  --dry-run           print the changes, apply nothing
  --provision         provision added nodes and the ends of added links through OVSDB first
                      (the controller's own provider, see "vino-controller --help")
  --json              print the controller's answer as JSON
  -h, --help          show this help

Exit status: 0 applied (or nothing to do), 1 invalid file, refused (a removed node still holds
containers or a migration) or controller unreachable, 2 bad command line.
`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        topology: { type: 'string' },
        api: { type: 'string', default: 'http://127.0.0.1:8080' },
        'api-token': { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        provision: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (the topology is given with --topology FILE)`);
    const file = values.topology;
    if (!file) throw new UsageError('missing --topology FILE');
    let base: URL;
    try {
      base = new URL(values.api);
    } catch {
      throw new UsageError(`--api: expected a URL like http://127.0.0.1:8080, got "${values.api}"`);
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      io.err(`vino-controller reload: cannot read ${file}: ${(err as Error).message}\n`);
      return EXIT_INVALID;
    }
    const { topology, problems } = analyzeTopologyText(text);
    if (!topology) {
      io.err(`vino-controller reload: the topology ${file} is invalid; nothing sent:\n`);
      for (const p of problems) io.err(`  ${formatProblem(p, file)}\n`);
      return EXIT_INVALID;
    }
    const url = new URL('/api/v1/topology', base);
    if (values['dry-run']) url.searchParams.set('dry_run', '1');
    if (values.provision) url.searchParams.set('provision', '1');
    const token = values['api-token'] ?? process.env.VINO_API_TOKEN;
    let res: Response;
    try {
      res = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: text });
    } catch (err) {
      io.err(`vino-controller reload: cannot reach the controller at ${base.origin}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}\n`);
      return EXIT_INVALID;
    }
    const body = await res.json().catch(() => null) as { detail?: string; title?: string; errors?: { path: string; message: string }[]; changes?: string[]; switchesTouched?: string[]; flowMods?: number; totalMs?: number; provisioned?: string[] } | null;
    if (values.json) io.out(JSON.stringify(body, null, 2) + '\n');
    if (!res.ok || !body) {
      io.err(`vino-controller reload: refused (HTTP ${res.status}): ${body?.detail ?? body?.title ?? 'no answer'}\n`);
      for (const p of body?.errors ?? []) io.err(`  ${p.path}: ${p.message}\n`);
      return EXIT_INVALID;
    }
    if (!values.json) {
      for (const line of body.changes ?? []) io.out(`${line}\n`);
      if (values['dry-run']) io.out('dry run: nothing applied\n');
      else io.out(`applied: ${body.switchesTouched?.length ?? 0} switches touched, ${body.flowMods ?? 0} flow/group/meter mods, ${body.provisioned?.length ?? 0} nodes provisioned, ${body.totalMs ?? 0} ms\n`);
    }
    return EXIT_OK;
  },
};
