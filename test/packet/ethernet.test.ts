// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import {
  checkEthernet, checkInnerEthernet, decodeEthernet, ETH_HEADER_LEN, ETHERTYPE_IPV4, ETHERTYPE_IPV6, formatMac,
  isUnicastMac, macEquals, parseMac, writeEthernet, writeMac,
} from '../../src/packet/ethernet.js';
import { Drop } from '../../src/packet/drop.js';
import { hexBytes } from '../../src/packet/bytes.js';
import { rng } from '../helpers/rng.js';


const OURS = parseMac('02:f1:00:00:00:02');
const PEER = parseMac('02:f1:00:00:00:01');
/** The inner Ethernet header of the kernel frame in baseline.md 4.1 (bytes 0x32..0x3f). */
const KERNEL_INNER = hexBytes('02 f1 00 00 00 02 02 f1 00 00 00 01 08 00');

t.test('parseMac and formatMac', async (t) => {
  t.same([...parseMac('02:aa:00:00:00:01')], [2, 0xaa, 0, 0, 0, 1]);
  t.same([...parseMac('02-AA-0b-00-00-01')], [2, 0xaa, 0x0b, 0, 0, 1], 'hyphens and upper case');
  t.equal(formatMac(parseMac('0A:0B:0C:DD:EE:FF')), '0a:0b:0c:dd:ee:ff', 'lowercase with leading zeros, like Go');
  t.equal(formatMac(KERNEL_INNER, 6), '02:f1:00:00:00:01', 'at an offset');
  for (const bad of ['', '02:aa:00:00:00', '02:aa:00:00:00:01:02', '02:aa:00:00:00:0g', '2:aa:00:00:00:01', '02aa00000001', '02:aa-00:00:00:01', ' 02:aa:00:00:00:01']) {
    t.throws(() => parseMac(bad), { message: new RegExp(`invalid MAC address "${bad}"`) }, `rejects "${bad}"`);
  }
});

t.test('macEquals, isUnicastMac, writeMac', async (t) => {
  t.ok(macEquals(KERNEL_INNER, 0, OURS));
  t.notOk(macEquals(KERNEL_INNER, 6, OURS));
  t.ok(isUnicastMac(parseMac('02:f1:00:00:00:01')));
  t.ok(isUnicastMac(parseMac('00:00:00:00:00:01')));
  t.notOk(isUnicastMac(parseMac('00:00:00:00:00:00')), 'all zero');
  t.notOk(isUnicastMac(parseMac('ff:ff:ff:ff:ff:ff')), 'broadcast');
  t.notOk(isUnicastMac(parseMac('01:00:5e:00:00:01')), 'IPv4 multicast');
  t.notOk(isUnicastMac(parseMac('33:33:00:00:00:01')), 'IPv6 multicast');
  const b = new Uint8Array(8);
  writeMac(b, 1, PEER);
  t.same([...b], [0, 2, 0xf1, 0, 0, 0, 1, 0]);
});

t.test('writeEthernet reproduces the kernel inner header byte for byte', async (t) => {
  const b = Buffer.alloc(20);
  t.equal(writeEthernet(b, 3, { dst: OURS, src: PEER, type: ETHERTYPE_IPV4 }), 3 + ETH_HEADER_LEN);
  t.same(b.subarray(3, 17), KERNEL_INNER);
  t.equal(b[2], 0);
  t.equal(b[17], 0, 'writes nothing outside the header');
  const d = decodeEthernet(b, 3, 17);
  t.match(d, { ok: true, dst: '02:f1:00:00:00:02', src: '02:f1:00:00:00:01', type: 0x0800, payloadOffset: 17 });
});

t.test('checkInnerEthernet: each reason, in the kernel order', async (t) => {
  const frame = (dst: string, src: string, type: number): Buffer => {
    const b = Buffer.alloc(ETH_HEADER_LEN + 20);
    writeEthernet(b, 0, { dst: parseMac(dst), src: parseMac(src), type });
    return b;
  };
  const cases: [string, Buffer, number, number][] = [
    ['ok', frame('02:f1:00:00:00:02', '02:f1:00:00:00:01', ETHERTYPE_IPV4), 34, 0],
    ['ok at exactly 14 bytes', frame('02:f1:00:00:00:02', '02:f1:00:00:00:01', ETHERTYPE_IPV4), 14, 0],
    ['truncated', frame('02:f1:00:00:00:02', '02:f1:00:00:00:01', ETHERTYPE_IPV4), 13, Drop.truncated],
    ['wrong dst', frame('02:f1:00:00:00:03', '02:f1:00:00:00:01', ETHERTYPE_IPV4), 34, Drop['wrong-dst-mac']],
    ['broadcast dst', frame('ff:ff:ff:ff:ff:ff', '02:f1:00:00:00:01', ETHERTYPE_IPV4), 34, Drop['wrong-dst-mac']],
    ['own src', frame('02:f1:00:00:00:02', '02:f1:00:00:00:02', ETHERTYPE_IPV4), 34, Drop['own-src-mac']],
    ['multicast src', frame('02:f1:00:00:00:02', '01:00:5e:00:00:01', ETHERTYPE_IPV4), 34, Drop['bad-src-mac']],
    ['zero src', frame('02:f1:00:00:00:02', '00:00:00:00:00:00', ETHERTYPE_IPV4), 34, Drop['bad-src-mac']],
    ['IPv6', frame('02:f1:00:00:00:02', '02:f1:00:00:00:01', ETHERTYPE_IPV6), 34, Drop['not-ipv4']],
    ['ARP', frame('02:f1:00:00:00:02', '02:f1:00:00:00:01', 0x0806), 34, Drop['not-ipv4']],
  ];
  for (const [name, b, len, want] of cases) t.equal(checkInnerEthernet(b, 0, len, OURS), want, name);
  t.equal(checkInnerEthernet(KERNEL_INNER, 0, 14, OURS), 0, 'the kernel frame passes');
  t.equal(checkInnerEthernet(KERNEL_INNER, 0, 14, PEER), Drop['wrong-dst-mac'], '...but not at the sender');
  t.equal(checkInnerEthernet(KERNEL_INNER, 1, 14, OURS), Drop.truncated, 'range beyond the buffer');
  t.equal(checkEthernet(KERNEL_INNER, 0, 14), 0);
  t.equal(checkEthernet(KERNEL_INNER, -1, 14), Drop.truncated, 'negative offset');
  t.same(decodeEthernet(KERNEL_INNER, 0, 13), { ok: false, reason: 'truncated' });
});

t.test('random Ethernet round trips', async (t) => {
  const r = rng(0xe7e7);
  let bad = 0;
  for (let n = 0; n < 2000; n++) {
    const dst = new Uint8Array(6).map(() => Math.floor(r() * 256));
    const src = new Uint8Array(6).map(() => Math.floor(r() * 256));
    const type = Math.floor(r() * 0x10000);
    const off = Math.floor(r() * 10);
    const b = new Uint8Array(off + ETH_HEADER_LEN);
    writeEthernet(b, off, { dst, src, type });
    const d = decodeEthernet(b, off, ETH_HEADER_LEN);
    if (!d.ok || d.dst !== formatMac(dst) || d.src !== formatMac(src) || d.type !== type) bad++;
    if (formatMac(parseMac(formatMac(dst))) !== formatMac(dst)) bad++;
  }
  t.equal(bad, 0);
});
