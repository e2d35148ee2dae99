// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { formatIpv4 } from '../../src/config/cidr.js';
import { ConfigError } from '../../src/config/errors.js';
import { RealExec, RecordingExec } from '../../src/host/exec.js';
import {
  chooseExternalInterface, needsDefaultRoute, selectExternalInterface, usableIpv4, type ExternalInterface,
} from '../../src/host/interface.js';
import type { IpLink, IpRoute } from '../../src/host/ip-json.js';
import { Netns, netnsSkipReason, uniqueSuffix, vethPair } from '../../src/lab/netns.js';

const addr = (local: string, extra: Partial<{ dynamic: boolean; deprecated: boolean; temporary: boolean }> = {}) => ({
  family: 'inet', local, prefixlen: 24, dynamic: false, deprecated: false, temporary: false, secondary: false, ...extra,
});
const LINKS: IpLink[] = [
  { ifindex: 1, ifname: 'lo', mtu: 65536, flags: [], addrs: [addr('127.0.0.1')] },
  { ifindex: 2, ifname: 'eth0', mtu: 1500, flags: [], addrs: [addr('10.0.2.15')] },
  { ifindex: 3, ifname: 'eth1', mtu: 9000, flags: [], addrs: [addr('169.254.9.9'), addr('192.168.56.11', { dynamic: true }), addr('192.168.56.10')] },
  { ifindex: 4, ifname: 'ul0', mtu: 1500, flags: [], addrs: [{ ...addr('fe80::1'), family: 'inet6' }] },
  { ifindex: 5, ifname: 'eth2', mtu: 1450, flags: [], addrs: [addr('172.16.0.5', { deprecated: true }), addr('169.254.1.1')] },
];
const DEFAULT: IpRoute[] = [{ dst: 'default', gateway: '10.0.2.2', dev: 'eth0' }];
const pick = (opts: Parameters<typeof selectExternalInterface>[2], routes = DEFAULT): string => {
  const e: ExternalInterface = selectExternalInterface(LINKS, routes, opts);
  return `${e.name}#${e.index} mtu=${e.mtu} addr=${formatIpv4(e.ifaceAddr)} public=${formatIpv4(e.publicIp)}`;
};

t.test('address preference: global before link-local, permanent before dynamic, no deprecated', async (t) => {
  t.same(usableIpv4(LINKS[2]!).map(formatIpv4), ['192.168.56.10', '192.168.56.11', '169.254.9.9']);
  t.same(usableIpv4(LINKS[4]!).map(formatIpv4), ['169.254.1.1']);
  t.same(usableIpv4(LINKS[0]!), [], 'loopback is not usable');
});

t.test('selection rules as flanneld', async (t) => {
  const table: [string, Parameters<typeof selectExternalInterface>[2], string][] = [
    ['default route', {}, 'eth0#2 mtu=1500 addr=10.0.2.15 public=10.0.2.15'],
    ['--iface name', { ifaces: ['eth1'] }, 'eth1#3 mtu=9000 addr=192.168.56.10 public=192.168.56.10'],
    ['--iface IP picks that address', { ifaces: ['192.168.56.11'] }, 'eth1#3 mtu=9000 addr=192.168.56.11 public=192.168.56.11'],
    ['first match wins', { ifaces: ['eth9', 'ul0', 'eth1', 'eth0'] }, 'eth1#3 mtu=9000 addr=192.168.56.10 public=192.168.56.10'],
    ['--public-ip with --iface', { ifaces: ['eth1'], publicIp: '203.0.113.7' }, 'eth1#3 mtu=9000 addr=192.168.56.10 public=203.0.113.7'],
    ['--public-ip alone: its interface', { publicIp: '192.168.56.11' }, 'eth1#3 mtu=9000 addr=192.168.56.11 public=192.168.56.11'],
    ['regex on address', { ifaceRegexes: ['^192\\.168\\.56\\.1[01]$'] }, 'eth1#3 mtu=9000 addr=192.168.56.10 public=192.168.56.10'],
    ['regex on name', { ifaceRegexes: ['^eth2$'] }, 'eth2#5 mtu=1450 addr=169.254.1.1 public=169.254.1.1'],
    ['regex is unanchored', { ifaceRegexes: ['th1'] }, 'eth1#3 mtu=9000 addr=192.168.56.10 public=192.168.56.10'],
    ['--iface before regex', { ifaces: ['eth9'], ifaceRegexes: ['eth0'] }, 'eth0#2 mtu=1500 addr=10.0.2.15 public=10.0.2.15'],
  ];
  for (const [name, opts, want] of table) t.equal(pick(opts), want, name);
  t.equal(pick({}, [{ dst: '0.0.0.0/0', dev: 'eth1' }, { dst: 'default', dev: 'eth0' }]), 'eth1#3 mtu=9000 addr=192.168.56.10 public=192.168.56.10', 'first default route');
});

t.test('errors say what is missing', async (t) => {
  const table: [string, Parameters<typeof selectExternalInterface>[2], IpRoute[], string][] = [
    ['missing name', { ifaces: ['eth9'] }, DEFAULT, 'interface eth9 not found'],
    ['no IPv4', { ifaces: ['ul0'] }, DEFAULT, 'interface ul0 has no IPv4 address'],
    ['loopback only', { ifaces: ['lo'] }, DEFAULT, 'interface lo has no IPv4 address'],
    ['IP not local', { ifaces: ['10.1.1.1'] }, DEFAULT, 'no interface has address 10.1.1.1'],
    ['no default route', {}, [], 'no default route: pass --iface'],
    ['blackhole default', {}, [{ dst: 'default', type: 'blackhole' }], 'the default route has no device: pass --iface'],
    ['default via unknown', {}, [{ dst: 'default', dev: 'wg0' }], "interface wg0 not found (the default route's device)"],
    ['regex no match', { ifaceRegexes: ['^wlan'] }, DEFAULT, 'no interface name or IPv4 address matches --iface-regex ^wlan'],
    ['public IP not local', { publicIp: '203.0.113.7' }, DEFAULT,
      'no interface has the --public-ip address 203.0.113.7: pass --iface as well when the public IP is not local (flanneld requires this too)'],
    ['several', { ifaces: ['eth9', 'ul0'], ifaceRegexes: ['^wlan'] }, DEFAULT,
      'no interface matches --iface/--iface-regex: interface eth9 not found; interface ul0 has no IPv4 address; no interface name or IPv4 address matches --iface-regex ^wlan'],
  ];
  for (const [name, opts, routes, message] of table) t.throws(() => selectExternalInterface(LINKS, routes, opts), { message }, name);
  const zeroMtu: IpLink[] = [{ ...LINKS[1]!, mtu: 0 }];
  t.throws(() => selectExternalInterface(zeroMtu, DEFAULT, {}), { message: 'cannot determine the MTU of interface eth0' });
  const badIp = t.throws(() => selectExternalInterface(LINKS, DEFAULT, { publicIp: '1.2.3' })) as ConfigError;
  t.type(badIp, ConfigError);
  t.equal(badIp.message, 'command line: --public-ip: "1.2.3" is not an IPv4 address');
  t.throws(() => selectExternalInterface(LINKS, DEFAULT, { ifaceRegexes: ['(('] }), /^command line: --iface-regex: "\(\(" is not a valid regular expression/);
});

t.test('chooseExternalInterface runs ip -j through the Exec seam', async (t) => {
  const exec = new RecordingExec()
    .on('ip -j addr show', { stdout: JSON.stringify([{ ifindex: 2, ifname: 'eth0', mtu: 1500, addr_info: [{ family: 'inet', local: '10.0.2.15', prefixlen: 24 }] }]) })
    .on('ip -j route show default', { stdout: '[{"dst":"default","gateway":"10.0.2.2","dev":"eth0","flags":[]}]' });
  t.equal((await chooseExternalInterface(exec, {})).name, 'eth0');
  t.same(exec.commands(), ['ip -j addr show', 'ip -j route show default']);
  const named = new RecordingExec().on('ip -j addr show', { stdout: '[{"ifindex":2,"ifname":"eth0","mtu":1500,"addr_info":[{"family":"inet","local":"10.0.2.15","prefixlen":24}]}]' });
  await chooseExternalInterface(named, { ifaces: ['eth0'] });
  t.same(named.commands(), ['ip -j addr show'], 'no route lookup when --iface is given');
  t.ok(needsDefaultRoute({ ifaces: [] }));
  t.notOk(needsDefaultRoute({ publicIp: '1.2.3.4' }));
  await t.rejects(chooseExternalInterface(new RecordingExec().on('ip', { code: 1, stderr: 'boom' }), {}), /`ip -j addr show` failed \(exit 1\): boom/);
});

t.test('against a real namespace with a veth', { skip: netnsSkipReason() ?? false }, async (t) => {
  const ns = Netns.create(`vxt-if-${uniqueSuffix()}`);
  t.teardown(() => ns.delete());
  const exec = new RealExec(ns.argv());
  await t.rejects(chooseExternalInterface(exec, {}), { message: 'no default route: pass --iface' }, 'fresh namespace');

  vethPair(ns, 'ul0', ns, 'peer0');
  ns.ip('link', 'set', 'ul0', 'mtu', '1400', 'up');
  ns.ip('link', 'set', 'peer0', 'up');
  ns.ip('addr', 'add', '192.168.77.2/24', 'dev', 'ul0');
  ns.ip('route', 'add', 'default', 'via', '192.168.77.1', 'dev', 'ul0');

  const e = await chooseExternalInterface(exec, {});
  t.same([e.name, e.mtu, formatIpv4(e.ifaceAddr), formatIpv4(e.publicIp)], ['ul0', 1400, '192.168.77.2', '192.168.77.2']);
  t.ok(e.index > 0);
  t.equal((await chooseExternalInterface(exec, { ifaces: ['192.168.77.2'] })).name, 'ul0');
  t.equal((await chooseExternalInterface(exec, { ifaceRegexes: ['^ul'], publicIp: '198.51.100.4' })).publicIp, 0xc6336404);
  await t.rejects(chooseExternalInterface(exec, { ifaces: ['peer0'] }), { message: 'interface peer0 has no IPv4 address' });
  await t.rejects(chooseExternalInterface(exec, { ifaces: ['eth9'] }), { message: 'interface eth9 not found' });
});
