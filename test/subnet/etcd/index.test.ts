// SPDX-License-Identifier: Apache-2.0
// createEtcdSubnetManager: flag checks (endpoints, renew margin, TLS files), the lease
// timing test hook, and an unreachable etcd at startup being waited for, not given up on.
import t from 'tap';
import { createServer } from 'node:net';
import { UsageError } from '../../../src/cli/errors.js';
import { createEtcdSubnetManager, normalizeEndpoints, parseLeaseTimingHook, TEST_HOOK_ENV } from '../../../src/subnet/etcd/index.js';
import { ManagerClosedError } from '../../../src/subnet/etcd/manager.js';
import { captureLog } from './helpers.js';

const base = { endpoints: ['http://127.0.0.1:1'], prefix: '/coreos.com/network', renewMarginMinutes: 60, subnetFile: '/nonexistent/subnet.env' };

t.test('--etcd-endpoints: URLs checked, bare host:port taken as http', async (t) => {
  t.same(normalizeEndpoints(['http://127.0.0.1:4001', 'https://etcd.example:2379/', '10.0.0.1:2379']),
    ['http://127.0.0.1:4001', 'https://etcd.example:2379', 'http://10.0.0.1:2379']);
  t.throws(() => normalizeEndpoints([]), UsageError);
  t.throws(() => normalizeEndpoints(['unix:///run/etcd.sock']), /--etcd-endpoints: "unix:\/\/\/run\/etcd\.sock" is not an http\(s\):\/\/host:port URL/);
  t.throws(() => normalizeEndpoints(['http://no-port']), /"http:\/\/no-port"/);
});

t.test('flag problems are UsageErrors naming the flag', async (t) => {
  const { log } = captureLog();
  await t.rejects(createEtcdSubnetManager({ ...base, renewMarginMinutes: 1440 }, log), { name: 'UsageError', message: /--subnet-lease-renew-margin: 1440 is not an integer in 1\.\.1439/ });
  await t.rejects(createEtcdSubnetManager({ ...base, cafile: '/nonexistent/ca.pem' }, log), { name: 'UsageError', message: /--etcd-cafile \/nonexistent\/ca\.pem cannot be read/ });
  await t.rejects(createEtcdSubnetManager({ ...base, endpoints: ['ftp://x:1'] }, log), { name: 'UsageError' });
});

t.test('the lease timing test hook', async (t) => {
  t.same(parseLeaseTimingHook('ttl=20,margin=15,retry=1'), { ttlSec: 20, marginSec: 15, retrySec: 1 });
  t.same(parseLeaseTimingHook('ttl=7200'), { ttlSec: 7200, marginSec: 3600, retrySec: 60 });
  t.throws(() => parseLeaseTimingHook('ttl=10,margin=10'), new RegExp(`${TEST_HOOK_ENV}=.*need ttl >= 2, margin < ttl`));
  t.throws(() => parseLeaseTimingHook('ttl=x'), /want "ttl=<s>,margin=<s>,retry=<s>"/);
  const cap = captureLog();
  process.env[TEST_HOOK_ENV] = 'ttl=30,margin=20,retry=2';
  t.teardown(() => { delete process.env[TEST_HOOK_ENV]; });
  const m = await createEtcdSubnetManager(base, cap.log);
  await m.close();
  t.match(cap.lines().find((l) => l.env === TEST_HOOK_ENV), { ttlSec: 30, marginSec: 20, retrySec: 2, level: 40 }, 'logged as a warning');
});

t.test('an unreachable etcd at startup is retried and logged until close()', async (t) => {
  // A port that refuses connections: bound, then closed again.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const cap = captureLog();
  const m = await createEtcdSubnetManager({ ...base, endpoints: [`http://127.0.0.1:${port}`] }, cap.log);
  const p = m.getNetworkConfig().catch((e: unknown) => e);
  for (let i = 0; i < 50 && !cap.msgs().some((s) => s.includes('retrying in 2s')); i++) await new Promise((r) => setTimeout(r, 100));
  const waits = cap.lines().filter((l) => /unreachable, retrying in/.test(String(l.msg)));
  t.same(waits.slice(0, 2).map((l) => l.msg), [`etcd at http://127.0.0.1:${port} unreachable, retrying in 1s`, `etcd at http://127.0.0.1:${port} unreachable, retrying in 2s`]);
  t.match(waits[0], { op: 'get /coreos.com/network/config', attempt: 1, err: /ECONNREFUSED|UNAVAILABLE/ });
  await m.close();
  t.ok((await p) instanceof ManagerClosedError, 'close() ends the wait');
});
