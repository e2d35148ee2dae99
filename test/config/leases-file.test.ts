// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { cidr, formatCidr, formatIpv4, overlaps, parseIpv4 } from '../../src/config/cidr.js';
import { ConfigError } from '../../src/config/errors.js';
import { ownLease, parseLeasesFile } from '../../src/config/leases-file.js';
import { parseNetConf } from '../../src/config/netconf.js';

const FILE = '/etc/vxtun/leases.json';
const netconf = parseNetConf('net-conf.json', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
const entry = (n: number, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  PublicIP: `192.168.50.${n}`,
  BackendType: 'vxlan',
  BackendData: { VNI: 1, VtepMAC: `02:aa:00:00:00:0${n}` },
  ...over,
});
const parse = (doc: unknown) => parseLeasesFile(FILE, JSON.stringify(doc), netconf);

t.test('a good file yields every lease in file order and no problems', async (t) => {
  const text = '{"10.244.1.0-24":{"PublicIP":"192.168.50.1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:aa:00:00:00:01"}},\n' +
    ' "10.244.2.0-24":{"PublicIP":"192.168.50.2","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:AA:00:00:00:02"}}}';
  const r = parseLeasesFile(FILE, text, netconf);
  t.same(r.problems, []);
  t.same(r.leases.map((l) => [l.key, formatCidr(l.subnet), l.vtepMac]), [
    ['10.244.1.0-24', '10.244.1.0/24', '02:aa:00:00:00:01'],
    ['10.244.2.0-24', '10.244.2.0/24', '02:aa:00:00:00:02'],
  ]);
  t.same(parseLeasesFile(FILE, '{}', netconf), { leases: [], problems: [] }, 'an empty file is valid');
});

t.test('each problem kind drops the entry and names file, key and value', async (t) => {
  const other = parseNetConf('n', '{"Network":"10.244.0.0/16","SubnetLen":25,"Backend":{"Type":"vxlan","VNI":7}}');
  const table: [string, Record<string, unknown>, string, string][] = [
    ['bad key', { '10.244.1.0': entry(1) }, '10.244.1.0', `${FILE}: 10.244.1.0: "10.244.1.0" is not a subnet key`],
    ['bad JSON value', { '10.244.1.0-24': [1] }, '10.244.1.0-24', `${FILE}: 10.244.1.0-24/: [1] is not a JSON object`],
    ['bad field', { '10.244.1.0-24': entry(1, { PublicIP: 'me' }) }, '10.244.1.0-24', `${FILE}: 10.244.1.0-24/PublicIP: "me" is not an IPv4 address`],
    ['BackendType', { '10.244.1.0-24': entry(1, { BackendType: 'host-gw' }) }, '10.244.1.0-24', `${FILE}: 10.244.1.0-24/BackendType: "host-gw" is not "vxlan"`],
    ['outside Network', { '10.245.1.0-24': entry(1) }, '10.245.1.0-24', `${FILE}: 10.245.1.0-24: "10.245.1.0-24" is not inside Network 10.244.0.0/16`],
    ['wrong SubnetLen', { '10.244.1.0-25': entry(1) }, '10.244.1.0-25', `${FILE}: 10.244.1.0-25: "10.244.1.0-25" has prefix length /25, but SubnetLen is 24`],
    ['VNI mismatch', { '10.244.1.0-24': entry(1, { BackendData: { VNI: 2, VtepMAC: '02:aa:00:00:00:01' } }) }, '10.244.1.0-24',
      `${FILE}: 10.244.1.0-24/BackendData.VNI: 2 differs from Backend.VNI 1 in net-conf`],
  ];
  for (const [name, doc, key, prefix] of table) {
    const r = parse({ '10.244.9.0-24': entry(9), ...doc });
    t.same(r.leases.map((l) => l.key), ['10.244.9.0-24'], `${name}: the good entry is kept`);
    t.equal(r.problems.length, 1, `${name}: one problem`);
    const p = r.problems[0]!;
    t.equal(p.key, key, `${name}: key`);
    t.ok(p.message.startsWith(prefix), `${name}: ${p.message}`);
    t.equal(p.message, p.error.message);
    t.type(p.error, ConfigError);
  }
  const big = parse({ '10.0.0.0-8': entry(1) });
  t.same(big.problems.map((p) => p.message), [`${FILE}: 10.0.0.0-8: "10.0.0.0-8" is not inside Network 10.244.0.0/16`], 'a prefix bigger than Network');
  const r = parseLeasesFile(FILE, JSON.stringify({ '10.244.1.0-25': entry(1, { BackendData: { VNI: 7, VtepMAC: '02:aa:00:00:00:01' } }) }), other);
  t.same([r.problems, r.leases.length], [[], 1], 'SubnetLen and VNI come from the given net-conf');
  const bigVni = parseNetConf('n', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":70000}}');
  const vni = (n: number) => JSON.stringify({ '10.244.1.0-24': entry(1, { BackendData: { VNI: n, VtepMAC: '02:aa:00:00:00:01' } }) });
  t.same(parseLeasesFile(FILE, vni(70000), bigVni).problems, [], 'the configured VNI matches');
  t.same(parseLeasesFile(FILE, vni(4464), bigVni).problems, [], "flanneld's 16-bit form of it matches too");
  t.equal(parseLeasesFile(FILE, vni(4465), bigVni).problems.length, 1);
});

t.test('conflicts reject every entry involved', async (t) => {
  const ip = parse({
    '10.244.1.0-24': entry(1),
    '10.244.2.0-24': entry(2, { PublicIP: '192.168.50.1' }),
    '10.244.3.0-24': entry(3),
  });
  t.same(ip.leases.map((l) => l.key), ['10.244.3.0-24']);
  t.same(ip.problems.map((p) => p.message), [
    `${FILE}: 10.244.1.0-24/PublicIP: "192.168.50.1" is also the PublicIP of entry "10.244.2.0-24"`,
    `${FILE}: 10.244.2.0-24/PublicIP: "192.168.50.1" is also the PublicIP of entry "10.244.1.0-24"`,
  ]);

  const mac = parse({ '10.244.1.0-24': entry(1), '10.244.2.0-24': entry(2, { BackendData: { VNI: 1, VtepMAC: '02:AA:00:00:00:01' } }) });
  t.same(mac.leases, []);
  t.same(mac.problems.map((p) => p.message), [
    `${FILE}: 10.244.1.0-24/BackendData.VtepMAC: "02:aa:00:00:00:01" is also the VtepMAC of entry "10.244.2.0-24"`,
    `${FILE}: 10.244.2.0-24/BackendData.VtepMAC: "02:aa:00:00:00:01" is also the VtepMAC of entry "10.244.1.0-24"`,
  ], 'MACs compare case-insensitively');

});

t.test('overlapping subnets reject both entries', async (t) => {
  const r = parse({ '10.244.1.0-24': entry(1), '10.244.1.0-25': entry(2), '10.244.2.0-24': entry(3) });
  t.same(r.leases.map((l) => l.key), ['10.244.2.0-24']);
  t.same(r.problems.map((p) => p.message), [
    `${FILE}: 10.244.1.0-24: "10.244.1.0-24" overlaps the subnet of entry "10.244.1.0-25"`,
    `${FILE}: 10.244.1.0-25: "10.244.1.0-25" has prefix length /25, but SubnetLen is 24`,
  ], 'each entry reports its first problem');
});

t.test('overlap detection matches a naive pairwise model on random files', async (t) => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const doc: Record<string, unknown> = {};
    const n = 2 + rand(12);
    for (let i = 0; i < n; i++) {
      const len = 20 + rand(7); // /20../26 inside 10.244.0.0/16
      const net = (0x0af40000 + rand(2 ** 16)) & (0xffffffff << (32 - len));
      const c = cidr(`${formatIpv4(net >>> 0)}/${len}`);
      doc[`${formatIpv4(c.network)}-${len}`] = entry(1, { PublicIP: `192.168.${i}.1`, BackendData: { VNI: 1, VtepMAC: `02:00:00:00:00:${(i + 16).toString(16)}` } });
    }
    const subnets = Object.keys(doc).map((k) => cidr(k.replace('-', '/')));
    const expectBad = Object.keys(doc).filter((_, i) =>
      subnets[i]!.prefixLen !== 24 || subnets.some((o, j) => j !== i && overlaps(o, subnets[i]!)));
    const r = parse(doc);
    t.same(r.problems.map((p) => p.key).sort(), expectBad.sort(), `round ${round}`);
  }
});

t.test('JSON duplicate keys: the later value wins, as in Go', async (t) => {
  const text = `{"10.244.1.0-24":${JSON.stringify(entry(1))},"10.244.1.0-24":${JSON.stringify(entry(2))}}`;
  const r = parseLeasesFile(FILE, text, netconf);
  t.same(r.leases.map((l) => l.vtepMac), ['02:aa:00:00:00:02']);
  t.same(r.problems, []);
});

t.test('a file that is not a JSON object is refused as a whole', async (t) => {
  t.throws(() => parseLeasesFile(FILE, '[]', netconf), { message: `${FILE}: (top level): [] is not a JSON object mapping subnet keys to lease values` });
  const err = t.throws(() => parseLeasesFile(FILE, '{"10.244.1.0-24": {', netconf)) as ConfigError;
  t.equal(err.file, FILE);
  t.match(err.key, /^line 1 column 20$/);
});

t.test('ownLease finds our PublicIP or names the file', async (t) => {
  const { leases } = parse({ '10.244.1.0-24': entry(1), '10.244.2.0-24': entry(2) });
  t.equal(ownLease(leases, parseIpv4('192.168.50.2')!, FILE).key, '10.244.2.0-24');
  const err = t.throws(() => ownLease(leases, parseIpv4('192.168.50.7')!, FILE)) as ConfigError;
  t.type(err, ConfigError);
  t.match(err.message, /^no lease in \/etc\/vxtun\/leases\.json has PublicIP 192\.168\.50\.7 /);
  t.same([err.file, err.key, err.value], [FILE, 'PublicIP', '192.168.50.7']);
});
