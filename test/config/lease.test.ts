// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { formatCidr, formatIpv4 } from '../../src/config/cidr.js';
import { ConfigError } from '../../src/config/errors.js';
import {
  canonicalMac, leaseAttrs, leaseFromValue, macProblem, parseLeaseValue, serializeLease, serializeLeaseValue,
  unicastIpv4Problem,
} from '../../src/config/lease.js';

// flannel's documented etcd value (Documentation/reservations.md, running.md).
const DOC_VALUE = '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}';

t.test("flannel's documented example parses and re-serializes byte for byte", async (t) => {
  const lease = parseLeaseValue('10.5.52.0-24', DOC_VALUE, 'etcd');
  t.same(lease, {
    subnet: { ip: 0x0a053400, prefixLen: 24, mask: 0xffffff00, network: 0x0a053400 },
    key: '10.5.52.0-24',
    publicIp: 0xc0a84003,
    vni: 1,
    vtepMac: 'c6:d2:32:6f:8f:44',
    backendType: 'vxlan',
  });
  t.equal(serializeLease(lease), DOC_VALUE);
  t.equal(serializeLeaseValue({
    PublicIP: '192.168.64.3', PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44' },
  }), DOC_VALUE);
});

t.test('serialization: key order, omitempty, lowercase MAC', async (t) => {
  t.equal(serializeLeaseValue({ PublicIP: '10.0.0.1', PublicIPv6: null }), '{"PublicIP":"10.0.0.1","PublicIPv6":null}');
  t.equal(serializeLeaseValue({ PublicIP: '10.0.0.1', PublicIPv6: 'fc00::1', BackendType: 'vxlan', BackendData: { VNI: 4096, VtepMAC: 'AA:BB:CC:DD:EE:02' } }),
    '{"PublicIP":"10.0.0.1","PublicIPv6":"fc00::1","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:02"}}');
  const upper = parseLeaseValue('10.244.9.0-24', '{"PublicIP":"10.0.0.9","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0A:BB:CC:DD:EE:FF"}}');
  t.equal(upper.vtepMac, '0a:bb:cc:dd:ee:ff', 'MAC canonicalised to lowercase');
  t.same(leaseAttrs(upper), { PublicIP: '10.0.0.9', PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '0a:bb:cc:dd:ee:ff' } });
});

t.test('VNI is published as flanneld does: cut to 16 bits', async (t) => {
  const l = leaseFromValue('10.244.1.0-24', { PublicIP: '10.0.0.1', BackendType: 'vxlan', BackendData: { VNI: 70000, VtepMAC: '02:00:00:00:00:01' } });
  t.equal(l.vni, 70000, 'parsed as given');
  t.equal(leaseAttrs(l).BackendData?.VNI, 4464, '70000 & 0xffff, what uint16(cfg.VNI) yields');
  t.match(serializeLease(l), /"BackendData":\{"VNI":4464,/);
});

t.test('round trip: parse(serialize(lease)) is the lease', async (t) => {
  for (let i = 0; i < 50; i++) {
    const mac = Array.from({ length: 6 }, (_, j) => ((j === 0 ? (i * 2) & 0xfe : (i * 37 + j * 11) & 0xff)).toString(16).padStart(2, '0')).join(':');
    if (mac === '00:00:00:00:00:00') continue;
    const key = `10.${i}.${(i * 7) % 256}.0-24`;
    const lease = leaseFromValue(key, { PublicIP: `192.168.${i}.${i + 1}`, BackendType: 'vxlan', BackendData: { VNI: i * 1000, VtepMAC: mac } });
    t.same(parseLeaseValue(key, serializeLease(lease)), lease, key);
  }
});

t.test('case-insensitive keys and ignored extras, as Go decodes them', async (t) => {
  const l = leaseFromValue('10.244.3.0-24', {
    publicip: '192.168.50.3', backendtype: 'vxlan', backenddata: { vni: 1, vtepmac: '02:aa:00:00:00:03' }, Expiration: 'x', BackendV6Data: null,
  });
  t.equal(formatIpv4(l.publicIp), '192.168.50.3');
  t.equal(formatCidr(l.subnet), '10.244.3.0/24');
  t.equal(l.vtepMac, '02:aa:00:00:00:03');
});

t.test('errors name source, key/field and value', async (t) => {
  const good = { PublicIP: '192.168.50.1', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '02:aa:00:00:00:01' } };
  const table: [string, string, unknown, string][] = [
    ['bad key', '10.244.1.0/24', good, 'leases.json: 10.244.1.0/24: "10.244.1.0/24" is not a subnet key of the form'],
    ['host bits', '10.244.1.1-24', good, 'leases.json: 10.244.1.1-24: "10.244.1.1-24" has host bits set'],
    ['dual stack', '10.244.1.0-24&fc00::-64', good, 'leases.json: 10.244.1.0-24&fc00::-64: "10.244.1.0-24&fc00::-64" has an IPv6 part (fc00::-64): IPv6 is not supported yet'],
    ['not object', '10.244.1.0-24', 'x', 'leases.json: 10.244.1.0-24/: "x" is not a JSON object'],
    ['no PublicIP', '10.244.1.0-24', { ...good, PublicIP: undefined }, 'leases.json: 10.244.1.0-24/PublicIP: (missing) is required'],
    ['bad PublicIP', '10.244.1.0-24', { ...good, PublicIP: '192.168.50' }, 'leases.json: 10.244.1.0-24/PublicIP: "192.168.50" is not an IPv4 address'],
    ['v6 PublicIP', '10.244.1.0-24', { ...good, PublicIP: 'fc00::1' }, 'leases.json: 10.244.1.0-24/PublicIP: "fc00::1" is not an IPv4 address'],
    ['zero PublicIP', '10.244.1.0-24', { ...good, PublicIP: '0.0.0.0' }, 'leases.json: 10.244.1.0-24/PublicIP: "0.0.0.0" is the unspecified address'],
    ['multicast PublicIP', '10.244.1.0-24', { ...good, PublicIP: '239.1.1.1' }, 'leases.json: 10.244.1.0-24/PublicIP: "239.1.1.1" is a multicast address'],
    ['PublicIPv6 number', '10.244.1.0-24', { ...good, PublicIPv6: 6 }, 'leases.json: 10.244.1.0-24/PublicIPv6: 6 is not a string or null'],
    ['host-gw', '10.244.1.0-24', { ...good, BackendType: 'host-gw' }, 'leases.json: 10.244.1.0-24/BackendType: "host-gw" is not "vxlan"'],
    ['no BackendType', '10.244.1.0-24', { ...good, BackendType: undefined }, 'leases.json: 10.244.1.0-24/BackendType: (missing) is not "vxlan"'],
    ['no BackendData', '10.244.1.0-24', { ...good, BackendData: undefined }, 'leases.json: 10.244.1.0-24/BackendData: (missing) is required for a vxlan lease'],
    ['no VNI', '10.244.1.0-24', { ...good, BackendData: { VtepMAC: '02:aa:00:00:00:01' } }, 'leases.json: 10.244.1.0-24/BackendData.VNI: (missing) is required'],
    ['big VNI', '10.244.1.0-24', { ...good, BackendData: { VNI: 2 ** 24, VtepMAC: '02:aa:00:00:00:01' } }, 'leases.json: 10.244.1.0-24/BackendData.VNI: 16777216 is not an integer in 0..16777215'],
    ['no MAC', '10.244.1.0-24', { ...good, BackendData: { VNI: 1 } }, 'leases.json: 10.244.1.0-24/BackendData.VtepMAC: (missing) is required'],
    ['bad MAC', '10.244.1.0-24', { ...good, BackendData: { VNI: 1, VtepMAC: '02-aa-00-00-00-01' } }, 'leases.json: 10.244.1.0-24/BackendData.VtepMAC: "02-aa-00-00-00-01" is not a MAC address'],
    ['multicast MAC', '10.244.1.0-24', { ...good, BackendData: { VNI: 1, VtepMAC: '01:00:5e:00:00:01' } }, 'leases.json: 10.244.1.0-24/BackendData.VtepMAC: "01:00:5e:00:00:01" is a multicast MAC'],
    ['broadcast MAC', '10.244.1.0-24', { ...good, BackendData: { VNI: 1, VtepMAC: 'ff:ff:ff:ff:ff:ff' } }, 'leases.json: 10.244.1.0-24/BackendData.VtepMAC: "ff:ff:ff:ff:ff:ff" is a multicast MAC'],
  ];
  for (const [name, key, value, prefix] of table) {
    const err = t.throws(() => leaseFromValue(key, value, 'leases.json'), name) as ConfigError;
    t.type(err, ConfigError, name);
    t.ok(err.message.startsWith(prefix), `${name}: ${err.message}`);
  }
  const json = t.throws(() => parseLeaseValue('10.244.1.0-24', '{"PublicIP":', 'etcd')) as ConfigError;
  t.match(json.message, /^etcd 10\.244\.1\.0-24: line 1 column 13: \(end of input\) is not valid JSON/);
});

t.test('MAC and address helpers', async (t) => {
  t.equal(macProblem('02:aa:00:00:00:01'), null);
  t.equal(macProblem('c6:d2:32:6f:8f:44'), null);
  t.match(macProblem('00:00:00:00:00:00'), /all-zero/);
  t.match(macProblem('02:aa:00:00:00'), /not a MAC/);
  t.match(macProblem('02:aa:00:00:00:01:02'), /not a MAC/);
  t.match(macProblem('2:aa:0:0:0:1'), /not a MAC/);
  t.match(macProblem('03:aa:00:00:00:01'), /multicast/);
  t.equal(canonicalMac('AA:BB:CC:DD:EE:FF'), 'aa:bb:cc:dd:ee:ff');
  t.equal(unicastIpv4Problem(0x7f000001), null, 'loopback is allowed (single-host labs)');
  t.match(unicastIpv4Problem(0xffffffff), /broadcast/);
});
