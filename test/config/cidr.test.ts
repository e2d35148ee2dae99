// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import {
  canonicalCidr, cidr, cidrSize, contains, containsCidr, formatCidr, formatIpv4, hasHostBits, lastAddress, makeCidr,
  nextSubnet, overlaps, parseCidr, parseIpv4, parseIpv6Cidr, prefixMask, sameCidr, subnetAt, subnetsInRange,
} from '../../src/config/cidr.js';

t.test('parseIpv4 accepts strict dotted quads only', async (t) => {
  const good: [string, number][] = [
    ['0.0.0.0', 0],
    ['10.244.1.0', 0x0af40100],
    ['192.168.64.3', 0xc0a84003],
    ['255.255.255.255', 0xffffffff],
  ];
  for (const [s, n] of good) {
    t.equal(parseIpv4(s), n, s);
    t.equal(formatIpv4(n), s, `format ${s}`);
  }
  for (const s of ['', '10.244.1', '10.244.1.0.1', '10.244.01.0', '256.0.0.1', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4 ',
    '0x0a.0.0.1', '1e1.0.0.1', '::1', '1..2.3', '١.٢.٣.٤']) {
    t.equal(parseIpv4(s), null, JSON.stringify(s));
  }
});

t.test('parseCidr keeps the address, computes mask and network', async (t) => {
  const c = parseCidr('10.244.1.5/16');
  t.ok(c);
  t.same(c, { ip: 0x0af40105, prefixLen: 16, mask: 0xffff0000, network: 0x0af40000 });
  t.equal(formatCidr(c!), '10.244.1.5/16', 'round-trips as written');
  t.ok(hasHostBits(c!));
  const canon = canonicalCidr(c!);
  t.equal(formatCidr(canon), '10.244.0.0/16', 'canonical form clears host bits');
  t.notOk(hasHostBits(canon));
  t.equal(canonicalCidr(canon), canon, 'already canonical: same object');

  t.same(parseCidr('0.0.0.0/0'), { ip: 0, prefixLen: 0, mask: 0, network: 0 });
  t.same(parseCidr('1.2.3.4/32'), { ip: 0x01020304, prefixLen: 32, mask: 0xffffffff, network: 0x01020304 });
  t.equal(formatCidr(parseCidr('10.0.0.0/08')!), '10.0.0.0/8', 'leading zero in the prefix accepted, as Go');
  for (const s of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/-1', '10.0.0/8', '10.0.0.0/8/8', 'fc00::/64', '10.0.0.0/ 8']) {
    t.equal(parseCidr(s), null, JSON.stringify(s));
  }
  t.throws(() => cidr('nope'), /"nope" is not an IPv4 CIDR/);
});

t.test('masks, sizes and containment are unsigned', async (t) => {
  t.equal(prefixMask(0), 0);
  t.equal(prefixMask(1), 0x80000000);
  t.equal(prefixMask(24), 0xffffff00);
  t.equal(prefixMask(32), 0xffffffff);
  const high = cidr('200.0.0.0/8');
  t.ok(high.network > 0, 'network of a high address stays positive');
  t.ok(contains(high, parseIpv4('200.255.255.255')!));
  t.notOk(contains(high, parseIpv4('201.0.0.0')!));
  t.equal(cidrSize(cidr('10.244.0.0/16')), 65536);
  t.equal(formatIpv4(lastAddress(cidr('10.244.0.0/16'))), '10.244.255.255');
  t.equal(formatIpv4(lastAddress(cidr('0.0.0.0/0'))), '255.255.255.255');
  t.ok(contains(cidr('0.0.0.0/0'), 0xffffffff));
});

t.test('containsCidr, overlaps and sameCidr', async (t) => {
  const net = cidr('10.244.0.0/16');
  t.ok(containsCidr(net, cidr('10.244.1.0/24')));
  t.ok(containsCidr(net, net));
  t.notOk(containsCidr(net, cidr('10.0.0.0/8')), 'a bigger prefix is not inside');
  t.notOk(containsCidr(net, cidr('10.245.0.0/24')));
  t.ok(overlaps(net, cidr('10.0.0.0/8')));
  t.ok(overlaps(cidr('10.0.0.0/8'), net), 'symmetric');
  t.ok(overlaps(cidr('10.244.1.0/24'), cidr('10.244.1.128/25')));
  t.notOk(overlaps(cidr('10.244.1.0/24'), cidr('10.244.2.0/24')));
  t.ok(sameCidr(cidr('10.244.1.7/24'), cidr('10.244.1.0/24')), 'same network and length');
  t.notOk(sameCidr(cidr('10.244.1.0/24'), cidr('10.244.1.0/25')));
});

t.test('nextSubnet and subnetsInRange walk like flannel allocation', async (t) => {
  t.equal(formatCidr(nextSubnet(cidr('10.244.1.0/24'))!), '10.244.2.0/24');
  t.equal(formatCidr(nextSubnet(cidr('10.244.255.0/24'))!), '10.245.0.0/24', 'crosses the /16 boundary');
  t.equal(nextSubnet(cidr('255.255.255.0/24')), null, 'no wrap past the top');
  const walk = [...subnetsInRange(parseIpv4('10.244.1.0')!, parseIpv4('10.244.4.0')!, 24)].map(formatCidr);
  t.same(walk, ['10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24', '10.244.4.0/24']);
  t.same([...subnetsInRange(parseIpv4('255.255.255.252')!, 0xffffffff, 30)].map(formatCidr), ['255.255.255.252/30']);
  t.same([...subnetsInRange(10, 5, 30)], [], 'empty when min > max');
  t.equal(formatCidr(makeCidr(0x0af40180, 24)), '10.244.1.128/24');
});

t.test('subnetAt indexes subnets inside a prefix', async (t) => {
  const net = cidr('10.244.0.0/16');
  t.equal(formatCidr(subnetAt(net, 24, 0)!), '10.244.0.0/24');
  t.equal(formatCidr(subnetAt(net, 24, 1)!), '10.244.1.0/24');
  t.equal(formatCidr(subnetAt(net, 24, 255)!), '10.244.255.0/24');
  t.equal(formatCidr(subnetAt(cidr('10.244.7.7/16'), 26, 5)!), '10.244.1.64/26', 'host bits of base ignored');
  t.equal(formatCidr(subnetAt(cidr('0.0.0.0/0'), 24, 2 ** 24 - 1)!), '255.255.255.0/24');
  t.equal(subnetAt(net, 24, 256), null, 'past the end');
  t.equal(subnetAt(net, 24, -1), null);
  t.equal(subnetAt(net, 24, 1.5), null);
  t.equal(subnetAt(net, 15, 0), null, 'longer than base');
  t.equal(subnetAt(net, 33, 0), null);
});

t.test('parseIpv6Cidr validates only', async (t) => {
  t.same(parseIpv6Cidr('fc00::/48'), { address: 'fc00::', prefixLen: 48 });
  t.same(parseIpv6Cidr('2001:cafe:42::/56'), { address: '2001:cafe:42::', prefixLen: 56 });
  for (const s of ['fc00::', 'fc00::/129', '10.0.0.0/8', 'fe80::1%eth0/64', 'zz::/8']) t.equal(parseIpv6Cidr(s), null, s);
});
