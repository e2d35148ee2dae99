// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { CniError, formatCniError, toCniError } from '../../src/cni/errors.js';
import { goJson, goNumber, goString, goStruct } from '../../src/cni/gojson.js';
import { formatIp, formatIpNet, networkOf, parseIp, parseIpNet } from '../../src/cni/ipnet.js';

t.test('goString escapes as Go encoding/json (HTML-safe)', async (t) => {
  t.equal(goString('plain'), '"plain"');
  t.equal(goString('a"b\\c'), '"a\\"b\\\\c"');
  t.equal(goString('\b\f\n\r\t'), '"\\b\\f\\n\\r\\t"');
  t.equal(goString('\u0001\u001f'), '"\\u0001\\u001f"');
  t.equal(goString('<nil> & co'), '"\\u003cnil\\u003e \\u0026 co"', 'HTML characters are escaped');
  t.equal(goString('\u2028\u2029'), '"\\u2028\\u2029"');
  t.equal(goString('\u007f é 😀'), '"\u007f é 😀"', 'DEL and valid non-ASCII stay literal');
  t.equal(goString('x\ud800y'), '"x\ufffdy"', 'a lone surrogate (invalid UTF-8 for Go) becomes U+FFFD');
});

t.test('goNumber follows Go float64 encoding', async (t) => {
  t.equal(goNumber(1450), '1450');
  t.equal(goNumber(0.5), '0.5');
  t.equal(goNumber(1e21), '1e+21');
  t.equal(goNumber(1e20), '100000000000000000000');
  t.equal(goNumber(1.5e-7), '1.5e-7');
  t.equal(goNumber(0.000001), '0.000001');
  t.equal(goNumber(-0), '-0');
  t.throws(() => goNumber(Infinity), /unsupported value/);
});

t.test('goJson sorts map keys by UTF-8 bytes and keeps struct order', async (t) => {
  t.equal(goJson({ type: 'bridge', name: 'cbr0', ipam: {}, ipMasq: false, isGateway: true, a: [], z: null }),
    '{"a":[],"ipMasq":false,"ipam":{},"isGateway":true,"name":"cbr0","type":"bridge","z":null}');
  t.equal(goJson({ 'é': 1, z: 2, Z: 3 }), '{"Z":3,"z":2,"é":1}');
  t.equal(goJson([goStruct([['dst', '10.0.0.0/8'], ['gw', undefined], ['mtu', 9000]])]), '[{"dst":"10.0.0.0/8","mtu":9000}]');
  t.equal(goJson({ skip: undefined, keep: 1 }), '{"keep":1}');
});

t.test('goJson with an indent matches MarshalIndent(v, "", "    ")', async (t) => {
  t.equal(goJson({ b: [1, { c: [] }], a: {} }, '    '),
    '{\n    "a": {},\n    "b": [\n        1,\n        {\n            "c": []\n        }\n    ]\n}');
});

t.test('CNI error objects', async (t) => {
  t.equal(formatCniError('0.3.1', new CniError(4, 'required env variables [CNI_NETNS] missing')),
    '{\n    "cniVersion": "0.3.1",\n    "code": 4,\n    "msg": "required env variables [CNI_NETNS] missing"\n}');
  t.equal(formatCniError('1.0.0', new CniError(7, 'bad', 'why')),
    '{\n    "cniVersion": "1.0.0",\n    "code": 7,\n    "msg": "bad",\n    "details": "why"\n}');
  const other = toCniError(new Error('boom'));
  t.equal(other.code, 999);
  t.equal(other.message, 'boom');
});

t.test('ipnet parses and prints as Go net does', async (t) => {
  const round = (s: string): string | null => {
    const n = parseIpNet(s);
    return n === null ? null : formatIpNet(n);
  };
  t.equal(round('10.244.1.1/24'), '10.244.1.1/24', 'IPNet.String keeps host bits');
  t.equal(formatIpNet(networkOf(parseIpNet('10.244.1.1/24')!)), '10.244.1.0/24');
  t.equal(formatIpNet(networkOf(parseIpNet('10.244.1.1/0')!)), '0.0.0.0/0');
  t.equal(formatIpNet(networkOf(parseIpNet('10.1.2.3/20')!)), '10.1.0.0/20');
  t.equal(round('2001:CAFE:42:0:0:0:0:1/64'), '2001:cafe:42::1/64');
  t.equal(formatIpNet(networkOf(parseIpNet('2001:cafe:42::1/56')!)), '2001:cafe:42::/56');
  t.equal(round('::/0'), '::/0');
  t.equal(round('::ffff:10.1.0.0/112'), '10.1.0.0/16', 'IPv4-mapped prints as IPv4 with the last 32 mask bits');
  t.equal(formatIp(parseIp('1:0:0:2:0:0:0:3')!), '1:0:0:2::3', 'the longest zero run is compressed');
  t.equal(formatIp(parseIp('1:0:0:2:0:0:3:4')!), '1::2:0:0:3:4', 'the first of equal runs');
  t.equal(formatIp(parseIp('1:0:2:3:4:5:6:7')!), '1:0:2:3:4:5:6:7', 'a single zero group is not compressed');
  t.equal(formatIp(parseIp('::1.2.3.4')!), '::102:304');
  for (const bad of ['10.244.1.1', '10.244.01.0/24', '10.244.1.0/33', '::1/129', '1::2::3/64', 'fe80::1%eth0/64', '1.2.3.4::/64', '10.0.0.0/', 'x/8', '1:2:3:4:5:6:7:8:9/64']) {
    t.equal(parseIpNet(bad), null, `${bad} is refused`);
  }
});
