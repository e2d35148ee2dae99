// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { ipv4Addrs, parseIpAddrJson, parseIpRouteJson } from '../../src/host/ip-json.js';

// Captured from iproute2 6.1 (`ip -j addr show` in a namespace with a veth pair).
const ADDR = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK'], mtu: 65536, addr_info: [] },
  {
    ifindex: 3, link: 'b0', ifname: 'a0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1500,
    addr_info: [
      { family: 'inet', local: '192.168.77.2', prefixlen: 24, scope: 'global', label: 'a0', valid_life_time: 4294967295 },
      { family: 'inet', local: '10.9.9.9', prefixlen: 24, scope: 'global', deprecated: true, dynamic: true, label: 'a0' },
      { family: 'inet', local: '10.9.9.10', prefixlen: 24, secondary: true },
      { family: 'inet6', local: 'fe80::d4ec:78ff:fe23:727c', prefixlen: 64, scope: 'link', temporary: true },
      { family: 'inet', prefixlen: 24 },
    ],
  },
  { ifname: '', mtu: 1 },
]);

t.test('parseIpAddrJson', async (t) => {
  const links = parseIpAddrJson(ADDR);
  t.equal(links.length, 2, 'entries without a name are dropped');
  t.same(links[0], { ifindex: 1, ifname: 'lo', mtu: 65536, flags: ['LOOPBACK'], addrs: [] });
  const a0 = links[1]!;
  t.same([a0.ifindex, a0.ifname, a0.mtu], [3, 'a0', 1500]);
  t.same(a0.addrs.map((a) => [a.family, a.local, a.prefixlen, a.dynamic, a.deprecated, a.temporary, a.secondary]), [
    ['inet', '192.168.77.2', 24, false, false, false, false],
    ['inet', '10.9.9.9', 24, true, true, false, false],
    ['inet', '10.9.9.10', 24, false, false, false, true],
    ['inet6', 'fe80::d4ec:78ff:fe23:727c', 64, false, false, true, false],
  ], 'addresses without `local` are dropped');
  t.same(ipv4Addrs(a0).map((a) => a.local), ['192.168.77.2', '10.9.9.9', '10.9.9.10']);
  t.same(parseIpAddrJson(''), [], 'empty output');
  t.same(parseIpAddrJson('[{"ifname":"x","flags":[1,"UP"],"addr_info":[7]}]')[0], { ifindex: 0, ifname: 'x', mtu: 0, flags: ['UP'], addrs: [] });
});

t.test('parseIpRouteJson', async (t) => {
  const routes = parseIpRouteJson('[{"dst":"default","gateway":"192.0.2.1","dev":"eth0","flags":[]},' +
    '{"dst":"default","gateway":"192.0.2.9","dev":"eth1","metric":100,"prefsrc":"192.0.2.5","flags":[]},' +
    '{"type":"blackhole","dst":"default","flags":[]}]\n');
  t.same(routes, [
    { dst: 'default', gateway: '192.0.2.1', dev: 'eth0' },
    { dst: 'default', gateway: '192.0.2.9', dev: 'eth1', metric: 100, prefsrc: '192.0.2.5' },
    { dst: 'default', type: 'blackhole' },
  ]);
  t.same(parseIpRouteJson(' \n'), []);
});

t.test('malformed output is an error naming the command', async (t) => {
  t.throws(() => parseIpAddrJson('Device "x" does not exist.'), /cannot parse the JSON output of `ip -j addr show`/);
  t.throws(() => parseIpRouteJson('{}'), /the JSON output of `ip -j route show` is not an array/);
});
