/** vino-ofp run as a subprocess (the compiled dist/src/openflow/cli.js), as a user would. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMessage } from '../../src/openflow/decode/index.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import { OpenFlowError } from '../../src/openflow/errors.js';
import { parseMessage, stringifyMessage } from '../../src/openflow/json.js';
import { parseJson, stringifyJson } from '../../src/json/index.js';
import { distFile, repoRoot, ryuVectorsDir } from '../util/paths.js';

const cli = distFile('src/openflow/cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'vino-ofp-test-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

function run(args: string[], input?: Buffer | string): Run {
  const r = spawnSync(process.execPath, [cli, ...args], { input: input ?? '', timeout: 30_000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

function file(name: string, content: Buffer | string): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

const vector = (name: string): Buffer => readFileSync(join(ryuVectorsDir(), 'packet', name));
const lines = (out: Buffer): string[] => out.toString('utf8').split('\n').filter((l) => l.length > 0);

// A small realistic stream: handshake, a flow with a 64-bit cookie, a packet-in, a multipart reply.
const parts = [
  vector('4-10-ofp_hello.packet'),
  vector('4-6-ofp_features_reply.packet'),
  vector('4-2-ofp_flow_mod.packet'),
  vector('4-19-ofp_role_request.packet'),
  vector('4-4-ofp_packet_in.packet'),
  vector('4-56-ofp_table_features_reply.packet'),
];
const stream = Buffer.concat(parts);
const expectedLines = parts.map((p) => stringifyMessage(decodeMessage(p)));

t.test('-V and --version print the package version', async (t) => {
  const version = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')).version as string;
  for (const flag of ['-V', '--version']) {
    const r = run([flag]);
    t.equal(r.status, 0, flag);
    t.equal(r.stdout.toString(), `vino-ofp ${version}\n`, flag);
  }
});

t.test('--help and usage errors', async (t) => {
  const help = run(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout.toString(), /^Usage: vino-ofp decode \[FILE\|-\] \[--hex\]/);
  for (const args of [[], ['frobnicate'], ['decode', '--pretty'], ['decode', 'a', 'b']]) {
    const r = run(args);
    t.equal(r.status, 2, `${JSON.stringify(args)}: exit 2`);
    t.match(r.stderr, /^vino-ofp: .*\n\nUsage:/, `${JSON.stringify(args)}: says why, then usage`);
    t.equal(r.stdout.length, 0);
  }
});

t.test('decode: binary file and stdin -> one JSON message a line', async (t) => {
  const path = file('stream.bin', stream);
  for (const [label, r] of [['file', run(['decode', path])], ['stdin', run(['decode'], stream)], ['"-"', run(['decode', '-'], stream)]] as const) {
    t.equal(r.status, 0, `${label}: exit 0`);
    t.equal(r.stderr, '', `${label}: nothing on stderr`);
    t.strictSame(lines(r.stdout), expectedLines, `${label}: the decoded messages, in order`);
    t.ok(r.stdout.toString().endsWith('\n'), `${label}: every line ends with a newline`);
  }
  const out = lines(run(['decode', path]).stdout);
  t.match(out[3], /"generationId":17294086455919964160[,}]/, '64-bit value above 2^53 printed exactly');
  t.strictSame(parseMessage(out[2]!), decodeMessage(parts[2]!), 'each line is the message');
});

t.test('decode --hex: whitespace and newlines ignored, either case', async (t) => {
  // Uneven line breaks, tabs, CRLF and upper case: only the digits matter.
  const hexText = stream.toString('hex').toUpperCase().replace(/(.{6})(.{12})/g, '$1 \t$2\r\n');
  const path = file('stream.hex', hexText);
  for (const r of [run(['decode', '--hex', path]), run(['decode', '--hex'], hexText), run(['--hex', 'decode', '-'], hexText)]) {
    t.equal(r.status, 0, r.stderr);
    t.strictSame(lines(r.stdout), expectedLines);
  }
});

t.test('encode: JSON Lines -> wire bytes or hex lines', async (t) => {
  const jsonl = expectedLines.join('\n') + '\n';
  const path = file('msgs.jsonl', jsonl);
  const bin = run(['encode', path]);
  t.equal(bin.status, 0, bin.stderr);
  t.ok(bin.stdout.equals(stream), 'binary output equals the original stream byte for byte');
  const fromStdin = run(['encode'], jsonl);
  t.ok(fromStdin.stdout.equals(stream), 'same from stdin');
  const hexOut = run(['encode', '--hex'], jsonl);
  t.equal(hexOut.status, 0);
  t.strictSame(lines(hexOut.stdout), parts.map((p) => p.toString('hex')), 'one lowercase hex line per message');
  // Pretty-printed messages and blank lines are accepted too.
  const pretty = expectedLines.map((l) => stringifyJson(parseJson(l), 2)).join('\n\n');
  const fromPretty = run(['encode', '--hex'], pretty);
  t.equal(fromPretty.status, 0, fromPretty.stderr);
  t.strictSame(lines(fromPretty.stdout), parts.map((p) => p.toString('hex')), 'multi-line JSON values');
  const empty = run(['encode'], '\n  \n');
  t.equal(empty.status, 0);
  t.equal(empty.stdout.length, 0, 'no messages in, no bytes out');
});

t.test('decode | encode reproduces every Ryu vector byte for byte', async (t) => {
  const manifest = JSON.parse(readFileSync(join(ryuVectorsDir(), 'manifest.json'), 'utf8')) as { packet_entries: { packet: string }[] };
  const all = Buffer.concat(manifest.packet_entries.filter((e) => e.packet.endsWith('.packet'))
    .map((e) => readFileSync(join(ryuVectorsDir(), e.packet))));
  const decoded = run(['decode'], all);
  t.equal(decoded.status, 0, decoded.stderr);
  t.equal(lines(decoded.stdout).length, 104, '104 messages');
  const encoded = run(['encode'], decoded.stdout);
  t.equal(encoded.status, 0, encoded.stderr);
  t.ok(encoded.stdout.equals(all), `${all.length} bytes reproduced`);
});

t.test('decode errors: exit 1, the byte offset, nothing of the bad message on stdout', async (t) => {
  const good = Buffer.concat(parts.slice(0, 3));
  const goodLines = expectedLines.slice(0, 3);

  // The input ends inside a message.
  const flowMod = vector('libofproto-OFP13-flow_mod.packet');
  const truncated = run(['decode'], Buffer.concat([good, flowMod.subarray(0, 64)]));
  t.equal(truncated.status, 1);
  t.strictSame(lines(truncated.stdout), goodLines, 'the complete messages before it are printed');
  t.match(truncated.stderr, new RegExp(`^vino-ofp decode: stdin: byte offset ${good.length}: BAD_REQUEST/BAD_LEN: input ends after 64 bytes of the 256`));

  // A header whose length is below 8: the stream cannot be framed past it.
  const badHeader = Buffer.from('0402000400000000', 'hex');
  const short = run(['decode', file('short.bin', Buffer.concat([good, badHeader, parts[0]!]))]);
  t.equal(short.status, 1);
  t.strictSame(lines(short.stdout), goodLines);
  t.match(short.stderr, new RegExp(`short\\.bin: byte offset ${good.length + 2}: BAD_REQUEST/BAD_LEN: header length 4 is shorter than the 8-byte header`));

  // A well-framed message whose body is malformed: the offset points into it.
  const broken = Buffer.from(parts[2]!);
  broken.writeUInt16BE(0xfff0, 50); // the match length now runs past the message
  let inner: OpenFlowError | undefined;
  try {
    decodeMessage(broken);
  } catch (err) {
    inner = err as OpenFlowError;
  }
  t.ok(inner instanceof OpenFlowError, 'the library rejects the broken message');
  const at = parts[0]!.length + parts[1]!.length;
  const body = run(['decode'], Buffer.concat([parts[0]!, parts[1]!, broken, parts[3]!]));
  t.equal(body.status, 1);
  t.strictSame(lines(body.stdout), expectedLines.slice(0, 2), 'only the messages before the bad one');
  t.ok(
    body.stderr.startsWith(`vino-ofp decode: stdin: byte offset ${at + inner!.offset}: ${inner!.typeName}/${inner!.codeName}: ${inner!.detail}`),
    `offset in the stream = message start ${at} + offset in the message ${inner!.offset}: ${body.stderr}`,
  );
  t.match(body.stderr, new RegExp(`message 3, FLOW_MOD, starts at byte offset ${at}`));

  // Another OpenFlow version.
  const v1 = Buffer.from(parts[1]!);
  v1[0] = 1;
  const version = run(['decode'], Buffer.concat([parts[0]!, v1]));
  t.equal(version.status, 1);
  t.match(version.stderr, new RegExp(`byte offset ${parts[0]!.length}: BAD_REQUEST/BAD_VERSION`));
  t.strictSame(lines(version.stdout), expectedLines.slice(0, 1));
});

t.test('decode --hex errors name the hex line', async (t) => {
  const hexLines = parts.slice(0, 3).map((p) => p.toString('hex'));
  const badDigit = run(['decode', '--hex'], `${hexLines[0]}\n${hexLines[1]}\n  04zz\n`);
  t.equal(badDigit.status, 1);
  t.match(badDigit.stderr, /hex line 3 column 5: "z" is not a hex digit/);
  const odd = run(['decode', '--hex'], `${hexLines[0]}\n0\n`);
  t.equal(odd.status, 1);
  t.match(odd.stderr, /hex line 2: odd number of hex digits/);
  t.strictSame(lines(odd.stdout), expectedLines.slice(0, 1), 'the message before it is printed');
  const truncated = run(['decode', '--hex'], `${hexLines[0]}\n${hexLines[1]}\n${hexLines[2]!.slice(0, 40)}\n`);
  t.equal(truncated.status, 1);
  const offset = parts[0]!.length + parts[1]!.length;
  t.match(truncated.stderr, new RegExp(`byte offset ${offset} \\(hex line 3\\): BAD_REQUEST/BAD_LEN: input ends after 20 bytes`));
  t.strictSame(lines(truncated.stdout), expectedLines.slice(0, 2));
});

t.test('encode errors: exit 1, the line, nothing of the bad message on stdout', async (t) => {
  const two = expectedLines.slice(0, 2);
  const goodBytes = Buffer.concat(parts.slice(0, 2));

  const syntax = run(['encode'], `${two[0]}\n${two[1]}\n{"type":"BARRIER_REQUEST",,"xid":1}\n${two[0]}\n`);
  t.equal(syntax.status, 1);
  t.ok(syntax.stdout.equals(goodBytes), 'the messages before the bad line are written, nothing after');
  t.match(syntax.stderr, /^vino-ofp encode: stdin: line 3 column 27: JSON syntax error: expected a string key/);

  const invalid = run(['encode', '--hex', file('bad.jsonl', `${two[0]}\n\n${two[1]!.replace('"nTables":255', '"nTables":256')}\n`)]);
  t.equal(invalid.status, 1);
  t.strictSame(lines(invalid.stdout), [parts[0]!.toString('hex')]);
  t.match(invalid.stderr, /bad\.jsonl: line 3: message 2 is not valid: \$\.nTables: expected an integer 0\.\.255, got number 256/);

  // Valid JSON shape that the encoder refuses: a vendor action not padded to 8 bytes.
  const unpadded = '{"type":"PACKET_OUT","xid":1,"bufferId":4294967295,"inPort":1,' +
    '"actions":[{"type":"EXPERIMENTER","experimenter":8992,"data":"00"}],"data":""}';
  const refused = run(['encode'], `${two[0]}\n${unpadded}\n`);
  t.equal(refused.status, 1);
  t.ok(refused.stdout.equals(parts[0]!), 'only the first message');
  t.match(refused.stderr, /line 2: message 2 cannot be encoded: BAD_ACTION\/BAD_LEN: .* \(at byte \d+ of the message\)/);

  const missing = run(['encode', join(tmp, 'does-not-exist.jsonl')]);
  t.equal(missing.status, 1);
  t.equal(missing.stderr, `vino-ofp encode: cannot read ${join(tmp, 'does-not-exist.jsonl')}: no such file\n`, 'the shared wording');
  t.equal(missing.stdout.length, 0);
});

t.test('decode of nothing prints nothing', async (t) => {
  const r = run(['decode'], Buffer.alloc(0));
  t.equal(r.status, 0);
  t.equal(r.stdout.length, 0);
  t.equal(r.stderr, '');
  // Sanity: the same bytes the library encodes are accepted back.
  t.ok(encodeMessage(decodeMessage(parts[0]!)).equals(parts[0]!));
});
