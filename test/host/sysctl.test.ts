// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkIpForward, DEFAULT_LOCAL_PORT_RANGE, readLocalPortRange, readSysctl } from '../../src/host/sysctl.js';

async function fakeProc(t: { teardown(fn: () => unknown): void }, files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'vxtun-proc-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'sys/net/ipv4'), { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(root, 'sys/net/ipv4', name), content);
  return root;
}

t.test('checkIpForward', async (t) => {
  t.equal(await checkIpForward(await fakeProc(t, { ip_forward: '1\n' })), null, 'enabled');
  t.equal(await checkIpForward(await fakeProc(t, { ip_forward: '0\n' })),
    'net.ipv4.ip_forward is 0: this node will not forward pod traffic between cni0 and flannel.1; enable it with `sysctl -w net.ipv4.ip_forward=1`');
  t.match(await checkIpForward(await fakeProc(t, { ip_forward: '' })), /^net\.ipv4\.ip_forward is \(empty\): /);
  const missing = await fakeProc(t, {});
  t.match(await checkIpForward(missing), new RegExp(`^cannot read ${missing}/sys/net/ipv4/ip_forward \\(ENOENT\\): .*sysctl -w net\\.ipv4\\.ip_forward=1`));
  const real = await checkIpForward();
  t.ok(real === null || /ip_forward/.test(real), 'the real /proc gives an answer either way');
});

t.test('readLocalPortRange', async (t) => {
  t.same(await readLocalPortRange(await fakeProc(t, { ip_local_port_range: '32768\t60999\n' })), [32768, 60999]);
  t.same(await readLocalPortRange(await fakeProc(t, { ip_local_port_range: '1024 65535' })), [1024, 65535]);
  t.same(await readLocalPortRange(await fakeProc(t, { ip_local_port_range: '40000\t40000\n' })), [40000, 40000]);
  for (const bad of ['60999 32768', '0 100', '1 70000', 'x y', '1000', '']) {
    t.same(await readLocalPortRange(await fakeProc(t, { ip_local_port_range: bad })), [...DEFAULT_LOCAL_PORT_RANGE], JSON.stringify(bad));
  }
  t.same(await readLocalPortRange(await fakeProc(t, {})), [32768, 60999], 'missing file: the default');
  const real = await readLocalPortRange();
  t.ok(real[0] <= real[1], 'the real /proc gives a range');
});

t.test('readSysctl maps dotted keys to /proc/sys paths', async (t) => {
  const root = await fakeProc(t, { rp_filter: ' 2\n' });
  t.equal(await readSysctl('net.ipv4.rp_filter', root), '2');
  await t.rejects(readSysctl('net.ipv4.nope', root), { code: 'ENOENT' });
});
