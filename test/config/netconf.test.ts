// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { formatCidr, formatIpv4 } from '../../src/config/cidr.js';
import { ConfigError } from '../../src/config/errors.js';
import {
  checkNetworkConfig, overlayMtu, parseNetConf, parseNetConfRaw, subnetRangeOf, type NetConfig,
} from '../../src/config/netconf.js';

const FILE = 'net-conf.json';
const parse = (obj: unknown): NetConfig => parseNetConf(FILE, JSON.stringify(obj));
const summary = (c: NetConfig): string =>
  `${formatCidr(c.network)} len=${c.subnetLen} min=${formatIpv4(c.subnetMin)} max=${formatIpv4(c.subnetMax)}`;
const vxlan = { Type: 'vxlan' };

t.test('kube-flannel.yml default config', async (t) => {
  const text = `{
  "Network": "10.244.0.0/16",
  "EnableNFTables": false,
  "Backend": {
    "Type": "vxlan"
  }
}
`;
  const c = parseNetConf(FILE, text);
  t.same(c, {
    network: { ip: 0x0af40000, prefixLen: 16, mask: 0xffff0000, network: 0x0af40000 },
    subnetLen: 24,
    subnetMin: 0x0af40100,
    subnetMax: 0x0af4ff00,
    backend: { type: 'vxlan', vni: 1, port: 8472 },
    warnings: [],
  });
  t.equal(summary(c), '10.244.0.0/16 len=24 min=10.244.1.0 max=10.244.255.0');
  t.same(Object.keys(c.backend), ['type', 'vni', 'port'], 'no mtu key when MTU is unset');
});

t.test('subnet defaults follow flannel CheckNetworkConfig', async (t) => {
  const table: [string, string][] = [
    ['10.0.0.0/8', '10.0.0.0/8 len=24 min=10.0.1.0 max=10.255.255.0'],
    ['10.244.0.0/22', '10.244.0.0/22 len=24 min=10.244.1.0 max=10.244.3.0'],
    ['10.244.0.0/23', '10.244.0.0/23 len=25 min=10.244.0.128 max=10.244.1.128'],
    ['10.244.0.0/28', '10.244.0.0/28 len=30 min=10.244.0.4 max=10.244.0.12'],
    ['10.244.7.9/16', '10.244.0.0/16 len=24 min=10.244.1.0 max=10.244.255.0'],
    ['0.0.0.0/0', '0.0.0.0/0 len=24 min=0.0.1.0 max=255.255.255.0'],
  ];
  for (const [network, want] of table) t.equal(summary(parse({ Network: network, Backend: vxlan })), want, network);
});

t.test('a Network with host bits is canonicalised, with a warning', async (t) => {
  const c = parse({ Network: '10.244.7.9/16', Backend: vxlan });
  t.equal(formatCidr(c.network), '10.244.0.0/16');
  t.same(c.warnings, ['net-conf.json: Network: "10.244.7.9/16" has host bits set; using 10.244.0.0/16 (as flanneld does)']);
});

t.test('explicit SubnetLen/Min/Max are honoured and checked', async (t) => {
  const c = parse({ Network: '10.244.0.0/16', SubnetLen: 26, SubnetMin: '10.244.10.0', SubnetMax: '10.244.20.192', Backend: vxlan });
  t.equal(summary(c), '10.244.0.0/16 len=26 min=10.244.10.0 max=10.244.20.192');
  t.same(subnetRangeOf(c).min, { ip: 0x0af40a00, prefixLen: 26, mask: 0xffffffc0, network: 0x0af40a00 });
  const zero = parse({ Network: '10.244.0.0/16', SubnetLen: 0, SubnetMin: '0.0.0.0', SubnetMax: '0.0.0.0', Backend: vxlan });
  t.equal(summary(zero), '10.244.0.0/16 len=24 min=10.244.1.0 max=10.244.255.0', '0 and 0.0.0.0 mean unset (flannel)');
});

t.test('backend options', async (t) => {
  const c = parse({ Network: '10.1.0.0/16', Backend: { Type: 'VXLAN', VNI: 4096, Port: 4789, MTU: 9000, GBP: false, Learning: false, DirectRouting: false } });
  t.same(c.backend, { type: 'vxlan', vni: 4096, port: 4789, mtu: 9000 });
  t.equal(overlayMtu(c, 1500), 8950, 'Backend.MTU overrides the interface MTU');
  const d = parse({ Network: '10.1.0.0/16', Backend: { Type: 'vxlan', VNI: 0, Port: 0, MTU: 0 } });
  t.same(d.backend, { type: 'vxlan', vni: 0, port: 8472 }, 'VNI 0 is kept, Port 0 and MTU 0 mean the defaults');
  t.equal(overlayMtu(d, 1500), 1450);
  t.same(parse({ Network: '10.1.0.0/16', Backend: { Type: 'vxlan', VNI: 16777215, Port: 65535, MTU: 118 } }).backend,
    { type: 'vxlan', vni: 16777215, port: 65535, mtu: 118 }, 'upper and lower bounds');
});

t.test('keys match case-insensitively; unknown keys become warnings', async (t) => {
  const c = parse({ network: '10.244.0.0/16', backend: { type: 'vxlan', vni: 1, Foo: 1 }, enableipv4: true, Networks: ['x'], Bogus: {} });
  t.equal(formatCidr(c.network), '10.244.0.0/16');
  t.equal(c.backend.vni, 1);
  t.same(c.warnings, [
    'net-conf.json: Networks: unknown key, ignored (flanneld ignores it too)',
    'net-conf.json: Bogus: unknown key, ignored (flanneld ignores it too)',
    'net-conf.json: Backend.Foo: unknown key, ignored (flanneld ignores it too)',
  ]);
  const v6 = parse({ Network: '10.244.0.0/16', IPv6Network: 'fc00::/48', IPv6SubnetLen: 64, EnableIPv6: false, Backend: vxlan });
  t.same(v6.warnings, [], 'IPv6 keys are known and ignored while IPv6 is disabled');
});

t.test('each validation error names the key and the value', async (t) => {
  const base = { Network: '10.244.0.0/16', Backend: vxlan };
  const table: [string, unknown, string][] = [
    ['missing Network', { Backend: vxlan }, 'net-conf.json: Network: (missing) is required when EnableIPv4 is true'],
    ['bad Network', { ...base, Network: '10.244.0.0/33' }, 'net-conf.json: Network: "10.244.0.0/33" is not an IPv4 CIDR'],
    ['IPv6 Network', { ...base, Network: 'fc00::/48' }, 'net-conf.json: Network: "fc00::/48" is not an IPv4 CIDR'],
    ['Network not a string', { ...base, Network: 10 }, 'net-conf.json: Network: 10 is not a string'],
    ['tiny Network', { ...base, Network: '10.244.0.0/29' }, 'net-conf.json: Network: "10.244.0.0/29" is too small: the smallest usable Network is a /28'],
    ['SubnetLen 31', { ...base, SubnetLen: 31 }, 'net-conf.json: SubnetLen: 31 must be at most 30'],
    ['SubnetLen too big', { ...base, SubnetLen: 17 }, 'net-conf.json: SubnetLen: 17 must be at least 18, so that Network 10.244.0.0/16 holds at least four subnets'],
    ['SubnetLen negative', { ...base, SubnetLen: -1 }, 'net-conf.json: SubnetLen: -1 is not an integer in 0..32'],
    ['SubnetMin outside', { ...base, SubnetMin: '10.245.0.0' }, 'net-conf.json: SubnetMin: "10.245.0.0" is not inside Network 10.244.0.0/16'],
    ['SubnetMax unaligned', { ...base, SubnetMax: '10.244.9.1' }, 'net-conf.json: SubnetMax: "10.244.9.1" is not on a /24 boundary (SubnetLen)'],
    ['SubnetMin bad', { ...base, SubnetMin: '10.244.1' }, 'net-conf.json: SubnetMin: "10.244.1" is not an IPv4 address'],
    ['EnableIPv6', { ...base, EnableIPv6: true, IPv6Network: 'fc00::/48' }, 'net-conf.json: EnableIPv6: true is not supported: vxtun implements IPv4 only (IPv6 is not supported yet)'],
    ['bad IPv6Network', { ...base, IPv6Network: 'fc00::/200' }, 'net-conf.json: IPv6Network: "fc00::/200" is not an IPv6 CIDR'],
    ['bad IPv6SubnetMin', { ...base, IPv6SubnetMin: '10.0.0.1' }, 'net-conf.json: IPv6SubnetMin: "10.0.0.1" is not an IPv6 address'],
    ['EnableIPv4 false', { ...base, EnableIPv4: false }, 'net-conf.json: EnableIPv4: false is not supported'],
    ['EnableIPv4 string', { ...base, EnableIPv4: 'true' }, 'net-conf.json: EnableIPv4: "true" is not a boolean'],
    ['EnableNFTables', { ...base, EnableNFTables: true }, 'net-conf.json: EnableNFTables: true is not supported: vxtun does not implement the nftables traffic manager'],
    ['no Backend', { Network: '10.244.0.0/16' }, 'net-conf.json: Backend: (missing) is required: without it flanneld would use its "udp" backend, but vxtun implements the vxlan backend; set Backend.Type to "vxlan"'],
    ['Backend not object', { ...base, Backend: 'vxlan' }, 'net-conf.json: Backend: "vxlan" is not a JSON object'],
    ['no Type', { ...base, Backend: { VNI: 1 } }, 'net-conf.json: Backend.Type: (missing) is not supported: vxtun implements the vxlan backend; set Backend.Type to "vxlan"'],
    ['host-gw', { ...base, Backend: { Type: 'host-gw' } }, 'net-conf.json: Backend.Type: "host-gw" is not supported'],
    ['udp', { ...base, Backend: { Type: 'udp' } }, 'net-conf.json: Backend.Type: "udp" is not supported'],
    ['VNI too big', { ...base, Backend: { Type: 'vxlan', VNI: 16777216 } }, 'net-conf.json: Backend.VNI: 16777216 is not an integer in 0..16777215'],
    ['VNI negative', { ...base, Backend: { Type: 'vxlan', VNI: -1 } }, 'net-conf.json: Backend.VNI: -1 is not an integer in 0..16777215'],
    ['Port too big', { ...base, Backend: { Type: 'vxlan', Port: 65536 } }, 'net-conf.json: Backend.Port: 65536 is not an integer in 0..65535'],
    ['Port string', { ...base, Backend: { Type: 'vxlan', Port: '4789' } }, 'net-conf.json: Backend.Port: "4789" is not an integer in 0..65535'],
    ['MTU small', { ...base, Backend: { Type: 'vxlan', MTU: 117 } }, 'net-conf.json: Backend.MTU: 117 is below 118'],
    ['GBP', { ...base, Backend: { Type: 'vxlan', GBP: true } }, 'net-conf.json: Backend.GBP: true is not supported'],
    ['Learning', { ...base, Backend: { Type: 'vxlan', Learning: true } }, 'net-conf.json: Backend.Learning: true is not supported'],
    ['DirectRouting', { ...base, Backend: { Type: 'vxlan', DirectRouting: true } }, 'net-conf.json: Backend.DirectRouting: true is not supported yet'],
    ['top level array', [base], 'net-conf.json: (top level): [{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}] is not a JSON object'],
    ['top level null', null, 'net-conf.json: (top level): null is not a JSON object'],
  ];
  for (const [name, obj, prefix] of table) {
    const err = t.throws(() => parse(obj), name) as ConfigError;
    t.type(err, ConfigError, `${name}: ConfigError`);
    t.ok(err.message.startsWith(prefix), `${name}: ${err.message}`);
    t.equal(err.file, FILE, `${name}: file`);
    t.ok(err.message.includes(err.key) && err.message.includes(err.value), `${name}: message names key and value`);
  }
});

t.test('bad JSON names the file and the position', async (t) => {
  const err = t.throws(() => parseNetConf('/etc/kube-flannel/net-conf.json', '{"Network": "10.244.0.0/16",, }')) as ConfigError;
  t.equal(err.key, 'line 1 column 29');
  t.match(err.message, /^\/etc\/kube-flannel\/net-conf\.json: line 1 column 29: "," is not valid JSON \(offset 28: /);
});

t.test('raw parse skips flannel subnet checks (kube mode)', async (t) => {
  const raw = parseNetConfRaw(FILE, JSON.stringify({ Network: '10.244.0.0/30', Backend: vxlan }));
  t.equal(formatCidr(raw.network), '10.244.0.0/30');
  t.equal(raw.subnetLen, undefined);
  t.equal(raw.subnetMin, undefined);
  t.throws(() => checkNetworkConfig(FILE, raw), /Network: "10\.244\.0\.0\/30" is too small/);
  const given = parseNetConfRaw(FILE, JSON.stringify({ Network: '10.244.0.0/16', SubnetLen: 25, SubnetMax: '10.244.3.128', Backend: vxlan }));
  t.same([given.subnetLen, given.subnetMax], [25, 0x0af40380]);
});
