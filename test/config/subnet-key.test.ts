// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { cidr, formatCidr } from '../../src/config/cidr.js';
import {
  canonicalKeyProblem, formatSubnetKey, isSubnetKeyError, parseSubnetKey, type SubnetKey,
} from '../../src/config/subnet-key.js';

const ok = (key: string): SubnetKey => {
  const r = parseSubnetKey(key);
  if (isSubnetKeyError(r)) throw new Error(`${key}: ${r.error}`);
  return r;
};

t.test('decodes flannel keys', async (t) => {
  const table: [string, string, string | null][] = [
    ['10.244.1.0-24', '10.244.1.0/24', null],
    ['10.5.52.0-24', '10.5.52.0/24', null],
    ['/coreos.com/network/subnets/10.5.52.0-24', '10.5.52.0/24', null],
    ['10.244.1.0-24&fc00::-64', '10.244.1.0/24', 'fc00::-64'],
    ['10.244.1.0-24&2001:db8:a::-80', '10.244.1.0/24', '2001:db8:a::-80'],
    ['0.0.0.0-0', '0.0.0.0/0', null],
    ['10.244.1.0-31', '10.244.1.0/31', null],
    ['10.244.1.5-24', '10.244.1.5/24', null], // host bits kept, as flannel
    ['10.244.1.0-024', '10.244.1.0/24', null], // ParseUint accepts leading zeros
  ];
  for (const [key, subnet, v6] of table) {
    const r = ok(key);
    t.equal(formatCidr(r.subnet), subnet, key);
    t.equal(r.ipv6 === null ? null : `${r.ipv6.address}-${r.ipv6.prefixLen}`, v6, `${key} ipv6`);
  }
});

t.test('rejects what flannel rejects, with a reason', async (t) => {
  const table: [string, RegExp][] = [
    ['10.244.1.0/24', /is not a subnet key of the form/],
    ['10.244.1.0-', /is not a subnet key/],
    ['10.244.1-24', /"10\.244\.1", which is not an IPv4 address/], // the unescaped dots let the regex match
    ['10.244.1.0-24x', /is not a subnet key/],
    ['10.244.1.0-32', /prefix length 32, outside flannel's range 0\.\.31/],
    ['10.244.1.0-99', /prefix length 99/],
    ['10.244.300.0-24', /"10\.244\.300\.0", which is not an IPv4 address/],
    ['10.244.01.0-24', /which is not an IPv4 address/],
    ['10x244y1z0-24', /is not a subnet key/],
    ['10.244.1.0-24&fc00::-128', /IPv6 part "fc00::-128" that is not an IPv6 prefix/],
    ['10.244.1.0-24&f:::-64', /IPv6 part/],
  ];
  for (const [key, re] of table) {
    const r = parseSubnetKey(key);
    t.ok(isSubnetKeyError(r), key);
    if (isSubnetKeyError(r)) t.match(r.error, re, key);
  }
});

t.test('formatSubnetKey round-trips', async (t) => {
  for (const c of ['10.244.1.0/24', '192.168.0.0/16', '10.0.0.128/25']) {
    const key = formatSubnetKey(cidr(c));
    t.equal(formatCidr(ok(key).subnet), c, key);
  }
  t.equal(formatSubnetKey(cidr('10.244.1.0/24')), '10.244.1.0-24');
});

t.test('canonicalKeyProblem refuses IPv6 parts, host bits and odd spellings', async (t) => {
  t.equal(canonicalKeyProblem('10.244.1.0-24', ok('10.244.1.0-24')), null);
  t.match(canonicalKeyProblem('10.244.1.0-24&fc00::-64', ok('10.244.1.0-24&fc00::-64')), /IPv6 part \(fc00::-64\): IPv6 is not supported yet/);
  t.match(canonicalKeyProblem('10.244.1.5-24', ok('10.244.1.5-24')), /host bits set: .*\(10\.244\.1\.0-24\)/);
  t.match(canonicalKeyProblem('10.244.1.0-024', ok('10.244.1.0-024')), /not in canonical form \(10\.244\.1\.0-24\)/);
  t.match(canonicalKeyProblem('/x/10.244.1.0-24', ok('/x/10.244.1.0-24')), /not in canonical form/);
});
