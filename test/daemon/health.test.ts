// SPDX-License-Identifier: Apache-2.0
/** The healthz server: /healthz while alive, /readyz only once ready, refusals naming the flag. */
import t from 'tap';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { startHealthServer } from '../../src/daemon/health.js';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('/healthz is 200 at once; /readyz follows setReady', async (t) => {
  const h = await startHealthServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => h.close());
  t.ok(h.port > 0, 'listening on a real port');
  t.same(await get(h.port, '/healthz'), { status: 200, body: 'vxtun is running\n' });
  const notReady = await get(h.port, '/readyz');
  t.equal(notReady.status, 503, 'not ready before the rules and subnet.env');
  t.match(notReady.body, /iptables rules and subnet\.env/);
  t.equal(h.ready, false);
  h.setReady(true);
  t.same(await get(h.port, '/readyz'), { status: 200, body: 'ready\n' });
  t.equal((await get(h.port, '/readyz?verbose')).status, 200, 'query string ignored');
  t.equal((await get(h.port, '/healthz', 'HEAD')).status, 200, 'HEAD answered');
  t.equal((await get(h.port, '/healthz', 'POST')).status, 200, 'any method, as Go\'s HandleFunc');
  h.setReady(false);
  t.equal((await get(h.port, '/readyz')).status, 503, 'not ready again once shutdown starts');
  t.equal((await get(h.port, '/metrics')).status, 404);
  t.equal((await get(h.port, '/')).status, 404);
});

t.test('close() stops listening, is idempotent, and unreadies', async (t) => {
  const h = await startHealthServer({ host: '127.0.0.1', port: 0 });
  h.setReady(true);
  await h.close();
  await h.close();
  t.equal(h.ready, false);
  await t.rejects(get(h.port, '/healthz'), { code: 'ECONNREFUSED' });
});

t.test('a port in use is refused naming --healthz-port', async (t) => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const port = (holder.address() as { port: number }).port;
  await t.rejects(startHealthServer({ host: '127.0.0.1', port }),
    { name: 'UsageError', exitCode: 2, message: new RegExp(`^--healthz-port ${port}: 127\\.0\\.0\\.1:${port} is already in use`) });
});

t.test('an address that is not local is refused naming --healthz-ip', async (t) => {
  await t.rejects(startHealthServer({ host: '192.0.2.77', port: 0 }), { name: 'UsageError', exitCode: 2, message: /^--healthz-ip 192\.0\.2\.77: not an address of this host/ });
});
