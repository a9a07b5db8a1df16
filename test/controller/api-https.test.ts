// The API over HTTPS (--api-cert/--api-key): a certificate from ovs-pki, a client trusting its
// CA gets answers; a client speaking plain HTTP to the port gets none.
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { startApp } from '../../controller/app.js';
import { loadTopology } from '../../src/topology/load.js';
import { makePki } from '../util/ovs-pki.js';
import { repoRoot } from '../util/paths.js';

t.test('HTTPS API', { timeout: 60_000 }, async (t) => {
  const pki = await makePki(t, 'api-https');
  const id = await pki.identity('vino-api', 'controller');
  const topology = await loadTopology(join(repoRoot(), 'topologies', 'line-3.json'));
  const app = await startApp({
    topology, logger: pino({ level: 'silent' }), ofListen: [{ host: '127.0.0.1', port: 0 }],
    apiListen: { host: '127.0.0.1', port: 0 }, apiTls: { cert: id.cert, key: id.key },
  });
  t.teardown(() => app.stop());
  const port = app.api!.port;

  const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    // The certificate names no host (ovs-pki): trust comes from the CA alone.
    https.get({ host: '127.0.0.1', port, path: '/api/v1/health', ca: pki.controllerCa, checkServerIdentity: () => undefined }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });
  t.equal(body.status, 200, 'GET /api/v1/health over HTTPS');
  t.match(body.text, /"status"/);

  const untrusted = await new Promise<Error>((resolve) => {
    https.get({ host: '127.0.0.1', port, path: '/api/v1/health', checkServerIdentity: () => undefined }, () => resolve(new Error('answered'))).on('error', resolve);
  });
  t.match(untrusted.message, /certificate/, 'a client that does not trust the CA refuses the server');

  const plain = await new Promise<string>((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/api/v1/health' }, (res) => resolve(`answered ${res.statusCode}`)).on('error', (e) => resolve(e.message));
  });
  t.notMatch(plain, /^answered 200/, `plain HTTP to the HTTPS port gets no API answer (${plain})`);
});
