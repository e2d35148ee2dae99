// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import {
  checkVxlan, decodeVxlan, readVni, writeVxlan, VXLAN_HEADER_LEN, VXLAN_OVERHEAD, VXLAN_PORT_DEFAULT,
} from '../../src/packet/vxlan.js';
import { checkInnerEthernet, decodeEthernet, parseMac, ETH_HEADER_LEN } from '../../src/packet/ethernet.js';
import { checkIpv4, decodeIpv4, IPV4_MIN_HEADER_LEN } from '../../src/packet/ipv4.js';
import { checkUdp, decodeUdp, UDP_HEADER_LEN } from '../../src/packet/udp.js';
import { Drop } from '../../src/packet/drop.js';
import { hexBytes } from '../../src/packet/bytes.js';
import { rng } from '../helpers/rng.js';


/**
 * The kernel VTEP frame of baseline.md 4.1 (echo request, `ul0 tx off`), as far as the
 * capture shows it; the remaining bytes of the 148-byte frame are zero here.
 */
const KERNEL_FRAME_HEAD = hexBytes(`
  96 ac 9f 38 11 c9 9a c8 22 9b ab 9f 08 00 45 00
  00 86 40 43 00 00 40 11 54 d0 c0 a8 32 01 c0 a8
  32 02 d5 e0 21 18 00 72 0b d8 08 00 00 00 00 00
  01 00 02 f1 00 00 00 02 02 f1 00 00 00 01 08 00
  45 00 00 54 b5 14 40 00 3f 01`);
const KERNEL_FRAME = Buffer.concat([KERNEL_FRAME_HEAD, Buffer.alloc(14 + 134 - KERNEL_FRAME_HEAD.length)]);

t.test('constants', async (t) => {
  t.equal(VXLAN_PORT_DEFAULT, 8472);
  t.equal(VXLAN_OVERHEAD, IPV4_MIN_HEADER_LEN + UDP_HEADER_LEN + VXLAN_HEADER_LEN + ETH_HEADER_LEN);
  t.equal(VXLAN_OVERHEAD, 50);
});

t.test('the kernel frame of baseline.md 4.1 decodes layer by layer', async (t) => {
  const f = KERNEL_FRAME;
  t.equal(f.length, 148);
  const eth = decodeEthernet(f, 0, f.length);
  t.match(eth, { ok: true, dst: '96:ac:9f:38:11:c9', src: '9a:c8:22:9b:ab:9f', type: 0x0800 });

  t.equal(checkIpv4(f, 14, 134), 0, 'outer IPv4 is acceptable');
  const ip = decodeIpv4(f, 14, 134);
  t.match(ip, {
    ok: true, totalLength: 134, id: 0x4043, df: false, mf: false, ttl: 64, protocol: 17, headerChecksum: 0x54d0,
    src: 0xc0a83201, dst: 0xc0a83202, tos: 0,
  });

  const udpOff = 14 + 20;
  t.equal(checkUdp(f, udpOff, 114), 0);
  t.match(decodeUdp(f, udpOff, 114), { ok: true, srcPort: 54752, dstPort: 8472, length: 114, checksum: 0x0bd8 });

  const vxOff = udpOff + 8;
  t.equal(checkVxlan(f, vxOff, 106, 1), 0, 'VNI 1 accepted');
  t.same(decodeVxlan(f, vxOff, 106, 1), { ok: true, flags: 0x08, reserved1: 0, vni: 1, reserved2: 0 });

  const innerOff = vxOff + 8;
  const ourMac = parseMac('02:f1:00:00:00:02');
  t.equal(checkInnerEthernet(f, innerOff, 98, ourMac), 0, 'accepted by the receiving VTEP 02:f1:00:00:00:02');
  t.match(decodeEthernet(f, innerOff, 98), { ok: true, dst: '02:f1:00:00:00:02', src: '02:f1:00:00:00:01', type: 0x0800 });
  t.same([...f.subarray(innerOff + 14, innerOff + 24)], [0x45, 0, 0, 0x54, 0xb5, 0x14, 0x40, 0, 0x3f, 0x01], 'inner IPv4 starts');

  const mine = Buffer.alloc(8, 0xee);
  writeVxlan(mine, 0, 1);
  t.same(mine, f.subarray(vxOff, vxOff + 8), 'writeVxlan reproduces the kernel header exactly');
});

t.test('writeVxlan byte-exact vectors', async (t) => {
  const cases: [number, string][] = [
    [0, '08 00 00 00 00 00 00 00'],
    [1, '08 00 00 00 00 00 01 00'],
    [0x123456, '08 00 00 00 12 34 56 00'],
    [0xffffff, '08 00 00 00 ff ff ff 00'],
  ];
  for (const [vni, hex] of cases) {
    const b = Buffer.alloc(10, 0xee);
    t.equal(writeVxlan(b, 1, vni), 9);
    t.same(b.subarray(1, 9), hexBytes(hex), `VNI ${vni}`);
    t.equal(b[0], 0xee);
    t.equal(b[9], 0xee, 'nothing outside the 8 bytes');
  }
  for (const bad of [-1, 0x1000000, 1.5, Number.NaN]) {
    t.throws(() => writeVxlan(Buffer.alloc(8), 0, bad), RangeError, `VNI ${bad}`);
  }
});

t.test('checkVxlan follows Linux vxlan_rcv: each reason', async (t) => {
  const hdr = (hex: string): Buffer => hexBytes(hex);
  const cases: [string, Buffer, number, number][] = [
    ['ok', hdr('08 00 00 00 00 00 01 00'), 8, 0],
    ['ok with payload after', hdr('08 00 00 00 00 00 01 00 ff ff'), 10, 0],
    ['7 bytes', hdr('08 00 00 00 00 00 01 00'), 7, Drop.truncated],
    ['no flags', hdr('00 00 00 00 00 00 01 00'), 8, Drop['bad-flags']],
    ['GBP G bit', hdr('88 00 00 00 00 00 01 00'), 8, Drop['bad-flags']],
    ['I missing, other bit set', hdr('04 00 00 00 00 00 01 00'), 8, Drop['bad-flags']],
    ['I plus a reserved flag bit', hdr('09 00 00 00 00 00 01 00'), 8, Drop['bad-flags']],
    ['reserved byte 1 (GBP D/A)', hdr('08 40 00 00 00 00 01 00'), 8, Drop['reserved-bits']],
    ['reserved byte 2', hdr('08 00 01 00 00 00 01 00'), 8, Drop['reserved-bits']],
    ['reserved byte 3', hdr('08 00 00 80 00 00 01 00'), 8, Drop['reserved-bits']],
    ['reserved byte 7', hdr('08 00 00 00 00 00 01 01'), 8, Drop['reserved-bits']],
    ['VNI 2', hdr('08 00 00 00 00 00 02 00'), 8, Drop['wrong-vni']],
    ['VNI 0x010000 (byte order)', hdr('08 00 00 00 01 00 00 00'), 8, Drop['wrong-vni']],
  ];
  for (const [name, b, len, want] of cases) {
    t.equal(checkVxlan(b, 0, len, 1), want, name);
    const d = decodeVxlan(b, 0, len, 1);
    t.equal(d.ok ? 0 : Drop[d.reason], want, `${name}: decode agrees`);
  }
  t.equal(checkVxlan(hdr('08 00 00 00 00 00 01 00'), 1, 8, 1), Drop.truncated, 'range beyond the buffer');
});

t.test('decodeVxlan reports fields with the reason', async (t) => {
  t.same(decodeVxlan(hexBytes('88 00 12 34 ab cd ef 07'), 0, 8), {
    ok: false, reason: 'bad-flags', flags: 0x88, reserved1: 0x1234, vni: 0xabcdef, reserved2: 7,
  });
  t.same(decodeVxlan(hexBytes('08 00 00 00 ab cd ef 00'), 0, 8), { ok: true, flags: 8, reserved1: 0, vni: 0xabcdef, reserved2: 0 }, 'any VNI without an expected one');
  t.same(decodeVxlan(hexBytes('08 00 00 00 ab cd ef 00'), 0, 8, 5), {
    ok: false, reason: 'wrong-vni', flags: 8, reserved1: 0, vni: 0xabcdef, reserved2: 0,
  });
  t.same(decodeVxlan(hexBytes('08 00 00'), 0, 3), { ok: false, reason: 'truncated' });
});

t.test('random VNI round trips', async (t) => {
  const r = rng(0x7e5);
  let bad = 0;
  const b = new Uint8Array(16);
  for (let n = 0; n < 5000; n++) {
    const vni = Math.floor(r() * 0x1000000);
    const off = Math.floor(r() * 8);
    writeVxlan(b, off, vni);
    const d = decodeVxlan(b, off, 8, vni);
    if (!d.ok || d.vni !== vni || readVni(b, off) !== vni || checkVxlan(b, off, 8, vni) !== 0) bad++;
    if (checkVxlan(b, off, 8, (vni + 1) & 0xffffff) !== Drop['wrong-vni']) bad++;
  }
  t.equal(bad, 0);
});
