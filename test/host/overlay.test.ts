// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { cidr } from '../../src/config/cidr.js';
import { ExecError, RealExec, RecordingExec } from '../../src/host/exec.js';
import { parseIpAddrJson, parseIpRouteJson } from '../../src/host/ip-json.js';
import { setUp, tearDown } from '../../src/host/overlay.js';
import { Netns, netnsSkipReason, tryRun, uniqueSuffix } from '../../src/lab/netns.js';

const NETWORK = cidr('10.244.0.0/16');
const ADDRESS = cidr('10.244.1.0/32');
const addrJson = (...addrs: string[]): string => JSON.stringify([{
  ifindex: 5, ifname: 'flannel.1', mtu: 1500, flags: ['UP'],
  addr_info: addrs.map((a) => ({ family: 'inet', local: a.split('/')[0], prefixlen: Number(a.split('/')[1]) })),
}]);

t.test('setUp on a fresh device: address, link up, one Network route', async (t) => {
  const exec = new RecordingExec().on('ip -j addr show dev flannel.1', { stdout: addrJson() });
  await setUp(exec, { dev: 'flannel.1', address: ADDRESS, network: NETWORK });
  t.same(exec.commands(), [
    'ip -j addr show dev flannel.1',
    'ip addr replace 10.244.1.0/32 dev flannel.1',
    'ip link set dev flannel.1 up',
    'ip route replace 10.244.0.0/16 dev flannel.1 src 10.244.1.0',
  ]);
});

t.test('setUp removes other addresses inside Network, keeps the rest, sets the MTU', async (t) => {
  const exec = new RecordingExec().on('ip -j addr show dev flannel.1', {
    stdout: addrJson('10.244.7.0/32', '10.244.1.0/24', '10.244.1.0/32', '192.168.1.1/24'),
  });
  await setUp(exec, { dev: 'flannel.1', address: ADDRESS, network: cidr('10.244.3.3/16'), mtu: 1450 });
  t.same(exec.commands(), [
    'ip -j addr show dev flannel.1',
    'ip addr del 10.244.7.0/32 dev flannel.1',
    'ip addr del 10.244.1.0/24 dev flannel.1',
    'ip addr replace 10.244.1.0/32 dev flannel.1',
    'ip link set dev flannel.1 mtu 1450 up',
    'ip route replace 10.244.0.0/16 dev flannel.1 src 10.244.1.0',
  ]);
});

t.test('setUp sets the transmit queue length when asked', async (t) => {
  const exec = new RecordingExec().on('ip -j addr show dev flannel.1', { stdout: addrJson() });
  await setUp(exec, { dev: 'flannel.1', address: ADDRESS, network: cidr('10.244.0.0/16'), mtu: 1450, txQueueLen: 10000 });
  t.ok(exec.commands().includes('ip link set dev flannel.1 mtu 1450 txqueuelen 10000 up'));
});

t.test('setUp failures name the command and stderr', async (t) => {
  const missing = new RecordingExec().on('ip -j addr show', { code: 1, stderr: 'Device "flannel.1" does not exist.\n' });
  await t.rejects(setUp(missing, { dev: 'flannel.1', address: ADDRESS, network: NETWORK }), {
    name: 'ExecError', message: '`ip -j addr show dev flannel.1` failed (exit 1): Device "flannel.1" does not exist.',
  });
  const route = new RecordingExec()
    .on('ip -j addr show', { stdout: addrJson() })
    .on('ip route replace', { code: 2, stderr: 'Error: Nexthop device is not up.\n' });
  const err = await setUp(route, { dev: 'flannel.1', address: ADDRESS, network: NETWORK }).catch((e: unknown) => e);
  t.type(err, ExecError);
  t.equal((err as Error).message, '`ip route replace 10.244.0.0/16 dev flannel.1 src 10.244.1.0` failed (exit 2): Error: Nexthop device is not up.');
  await t.rejects(setUp(new RecordingExec(), { dev: 'flannel.1', address: cidr('10.245.1.0/32'), network: NETWORK }),
    /overlay address 10\.245\.1\.0\/32 is not inside Network 10\.244\.0\.0\/16/);
});

t.test('tearDown removes route, addresses and link', async (t) => {
  const exec = new RecordingExec().on('ip -j addr show dev flannel.1', { stdout: addrJson('10.244.1.0/32', '192.168.1.1/24') });
  await tearDown(exec, { dev: 'flannel.1', network: NETWORK });
  t.same(exec.commands(), [
    'ip route del 10.244.0.0/16 dev flannel.1',
    'ip -j addr show dev flannel.1',
    'ip addr del 10.244.1.0/32 dev flannel.1',
    'ip link del dev flannel.1',
  ]);
});

t.test('tearDown ignores what is already gone', async (t) => {
  const gone = new RecordingExec()
    .on('ip route del', { code: 2, stderr: 'Cannot find device "flannel.1"\n' })
    .on('ip -j addr show', { code: 1, stderr: 'Device "flannel.1" does not exist.\n' });
  await tearDown(gone, { dev: 'flannel.1', network: NETWORK });
  t.same(gone.commands(), ['ip route del 10.244.0.0/16 dev flannel.1', 'ip -j addr show dev flannel.1'], 'no device: nothing else to do');

  const half = new RecordingExec()
    .on('ip route del', { code: 2, stderr: 'RTNETLINK answers: No such process\n' })
    .on('ip -j addr show', { stdout: addrJson('10.244.1.0/32') })
    .on('ip addr del', { code: 2, stderr: 'Error: ipv4: Address not found.\n' })
    .on('ip link del', { code: 1, stderr: 'Cannot find device "flannel.1"\n' });
  await tearDown(half, { dev: 'flannel.1', network: NETWORK });
  t.equal(half.calls.length, 4);

  const denied = new RecordingExec().on('ip route del', { code: 2, stderr: 'RTNETLINK answers: Operation not permitted\n' });
  await t.rejects(tearDown(denied, { dev: 'flannel.1', network: NETWORK }), /`ip route del 10\.244\.0\.0\/16 dev flannel\.1` failed \(exit 2\): RTNETLINK answers: Operation not permitted/);
});

t.test('setUp and tearDown against a real device in a namespace', { skip: netnsSkipReason() ?? false }, async (t) => {
  const ns = Netns.create(`vxt-ov-${uniqueSuffix()}`);
  t.teardown(() => ns.delete());
  // A TUN device like vxtun's (the dummy driver is not available everywhere).
  ns.ip('tuntap', 'add', 'dev', 'flannel.1', 'mode', 'tun');
  ns.ip('addr', 'add', '10.244.9.0/32', 'dev', 'flannel.1'); // stale lease address
  ns.ip('addr', 'add', '192.168.5.5/32', 'dev', 'flannel.1'); // not ours to touch
  const exec = new RealExec(ns.argv());
  const spec = { dev: 'flannel.1', address: ADDRESS, network: NETWORK, mtu: 1450 };

  await setUp(exec, spec);
  await setUp(exec, spec); // idempotent
  const link = parseIpAddrJson(ns.ip('-j', 'addr', 'show', 'dev', 'flannel.1'))[0]!;
  t.same(link.addrs.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`).sort(), ['10.244.1.0/32', '192.168.5.5/32']);
  t.equal(link.mtu, 1450);
  t.ok(link.flags.includes('UP'), 'link is up');
  const routes = parseIpRouteJson(ns.ip('-j', 'route', 'show', '10.244.0.0/16'));
  t.same(routes.map((r) => [r.dst, r.dev, r.prefsrc]), [['10.244.0.0/16', 'flannel.1', '10.244.1.0']]);
  const get = parseIpRouteJson(ns.ip('-j', 'route', 'get', '10.244.5.5'))[0];
  t.same([get?.dev, get?.prefsrc], ['flannel.1', '10.244.1.0'], 'a remote pod address routes via the device from our overlay address');

  await tearDown(exec, { dev: 'flannel.1', network: NETWORK });
  t.same(parseIpRouteJson(ns.ip('-j', 'route', 'show', '10.244.0.0/16')), [], 'route removed');
  t.not(tryRun(['ip', '-n', ns.name, 'link', 'show', 'flannel.1']).status, 0, 'device removed');
  await tearDown(exec, { dev: 'flannel.1', network: NETWORK }); // already clean: no error
});
