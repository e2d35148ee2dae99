// SPDX-License-Identifier: Apache-2.0
/**
 * Drop reasons as the codecs produce them: every header-decoding reason comes out of
 * at least one crafted input, and no byte string of any length, at any offset, makes
 * a codec throw or return something that is not a reason.
 */
import t from 'tap';
import { Drop, DROP_REASONS, DROP_REASON_COUNT, dropReasonName, type DropReason } from '../../src/packet/drop.js';
import { checkEthernet, checkInnerEthernet, decodeEthernet, parseMac } from '../../src/packet/ethernet.js';
import { checkIpv4, decodeIpv4 } from '../../src/packet/ipv4.js';
import { checkUdp, decodeUdp } from '../../src/packet/udp.js';
import { checkVxlan, decodeVxlan } from '../../src/packet/vxlan.js';
import { checkIcmp, decodeIcmp, shouldSendIcmpError } from '../../src/packet/icmp.js';
import { buildIcmpEcho, buildOuterUdp, buildVxlanFrame } from '../../src/packet/build.js';
import { hexBytes } from '../../src/packet/bytes.js';
import { rng } from '../helpers/rng.js';

const SEED = Number(process.env.VXTUN_TEST_SEED ?? 20_000);

const OUR_MAC = parseMac('02:f1:00:00:00:02');
const inner = buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.2', id: 1, seq: 1 });
const vxlanPayload = buildVxlanFrame({ vni: 1, innerDstMac: OUR_MAC, innerSrcMac: '02:f1:00:00:00:01', inner });
const outer = buildOuterUdp({ srcIp: '192.168.50.1', dstIp: '192.168.50.2', sport: 54752, dport: 8472, payload: vxlanPayload });

type Check = (b: Uint8Array, off: number, len: number) => number;
type Decode = (b: Uint8Array, off: number, len: number) => { ok: true } | { ok: false; reason: DropReason };

const CODECS: { name: string; check: Check; decode?: Decode }[] = [
  { name: 'ethernet', check: checkEthernet, decode: decodeEthernet },
  { name: 'inner-ethernet', check: (b, o, l) => checkInnerEthernet(b, o, l, OUR_MAC) },
  { name: 'ipv4', check: checkIpv4, decode: decodeIpv4 },
  { name: 'udp', check: checkUdp, decode: decodeUdp },
  { name: 'vxlan', check: (b, o, l) => checkVxlan(b, o, l, 1), decode: (b, o, l) => decodeVxlan(b, o, l, 1) },
  { name: 'icmp', check: checkIcmp, decode: decodeIcmp },
];

function mutated(src: Uint8Array, f: (b: Buffer) => void): Buffer {
  const b = Buffer.from(src);
  f(b);
  return b;
}

/** [reason, codec, bytes, offset, length] — one crafted input per header-decoding reason (at least). */
const TABLE: [DropReason, string, Uint8Array, number, number][] = [
  ['truncated', 'ethernet', vxlanPayload, 8, 13],
  ['truncated', 'ipv4', outer, 0, 19],
  ['truncated', 'udp', outer, 20, 7],
  ['truncated', 'vxlan', vxlanPayload, 0, 7],
  ['truncated', 'icmp', inner, 20, 7],
  ['truncated', 'ipv4', outer, outer.length - 10, 20],
  ['bad-flags', 'vxlan', hexBytes('0c 00 00 00 00 00 01 00'), 0, 8],
  ['reserved-bits', 'vxlan', hexBytes('08 00 00 00 00 00 01 80'), 0, 8],
  ['wrong-vni', 'vxlan', hexBytes('08 00 00 00 00 00 02 00'), 0, 8],
  ['wrong-dst-mac', 'inner-ethernet', mutated(vxlanPayload, (b) => { b[8 + 5] = 9; }), 8, vxlanPayload.length - 8],
  ['own-src-mac', 'inner-ethernet', mutated(vxlanPayload, (b) => { b[8 + 11] = 2; }), 8, vxlanPayload.length - 8],
  ['bad-src-mac', 'inner-ethernet', mutated(vxlanPayload, (b) => { b[8 + 6] = 0x03; }), 8, vxlanPayload.length - 8],
  ['not-ipv4', 'inner-ethernet', mutated(vxlanPayload, (b) => { b[8 + 12] = 0x86; b[8 + 13] = 0xdd; }), 8, vxlanPayload.length - 8],
  ['not-ipv4', 'ipv4', mutated(inner, (b) => { b[0] = 0x60; }), 0, inner.length],
  ['bad-ihl', 'ipv4', mutated(inner, (b) => { b[0] = 0x43; }), 0, inner.length],
  ['bad-total-length', 'ipv4', inner, 0, inner.length - 1],
  ['bad-header-checksum', 'ipv4', mutated(inner, (b) => { b[8] = b[8]! - 1; }), 0, inner.length],
  ['bad-udp-length', 'udp', mutated(outer, (b) => { b.writeUInt16BE(outer.length, 24); }), 20, outer.length - 20],
  ['bad-udp-length', 'udp', mutated(outer, (b) => { b.writeUInt16BE(4, 24); }), 20, outer.length - 20],
];

t.test('every header-decoding reason is produced by a crafted input', async (t) => {
  const produced = new Set<DropReason>();
  for (const [reason, codec, bytes, off, len] of TABLE) {
    const c = CODECS.find((x) => x.name === codec)!;
    const code = c.check(bytes, off, len);
    t.equal(dropReasonName(code), reason, `${codec}: ${reason}`);
    if (c.decode) {
      const d = c.decode(bytes, off, len);
      t.same(d.ok ? 'ok' : d.reason, reason, `${codec}: decode says ${reason} too`);
    }
    produced.add(dropReasonName(code));
  }
  const codecReasons = DROP_REASONS.slice(1, DROP_REASONS.indexOf('bad-udp-length') + 1);
  t.same(codecReasons.filter((r) => !produced.has(r)), [], 'no codec reason left uncovered');
  // The untouched packets pass every layer.
  t.equal(checkIpv4(outer, 0, outer.length), 0);
  t.equal(checkUdp(outer, 20, outer.length - 20), 0);
  t.equal(checkVxlan(outer, 28, outer.length - 28, 1), 0);
  t.equal(checkInnerEthernet(outer, 36, outer.length - 36, OUR_MAC), 0);
  t.equal(checkIpv4(outer, 50, outer.length - 50), 0);
});

t.test('no codec throws on hostile bytes; each returns 0 or a reason (20,000 inputs)', async (t) => {
  const r = rng(SEED);
  const templates = [outer, vxlanPayload, vxlanPayload.subarray(8), inner, outer.subarray(20)];
  let failures = 0;
  let first = '';
  const seen = new Set<string>();
  for (let n = 0; n < 20_000; n++) {
    const size = Math.floor(r() * 201);
    const data = new Uint8Array(size);
    if (r() < 0.4) {
      // Start from a real packet so the deeper checks are reached, then damage it.
      const tpl = templates[Math.floor(r() * templates.length)]!;
      data.set(tpl.subarray(0, size));
      for (let k = Math.floor(r() * 4); k > 0 && size > 0; k--) data[Math.floor(r() * size)] = Math.floor(r() * 256);
    } else {
      for (let i = 0; i < size; i++) data[i] = Math.floor(r() * 256);
    }
    const pre = Math.floor(r() * 16);
    const buf = new Uint8Array(pre + size + Math.floor(r() * 16));
    buf.set(data, pre);
    // Mostly the exact range; sometimes any range inside the buffer; sometimes a hostile one.
    let off = pre;
    let len = size;
    const p = r();
    if (p < 0.15) {
      off = Math.floor(r() * (buf.length + 1));
      len = Math.floor(r() * (buf.length - off + 1));
    } else if (p < 0.2) {
      off = [-1, buf.length, buf.length + 5, 0.5, Number.NaN][Math.floor(r() * 5)]!;
      len = [0, 8, 20, 1000, -4][Math.floor(r() * 5)]!;
    }
    for (const c of CODECS) {
      try {
        const code = c.check(buf, off, len);
        if (!Number.isInteger(code) || code < 0 || code >= DROP_REASON_COUNT) throw new Error(`code ${code}`);
        seen.add(`${c.name}:${DROP_REASONS[code]}`);
        if (c.decode) {
          const d = c.decode(buf, off, len);
          const got = d.ok ? 0 : Drop[d.reason];
          if (got !== code) throw new Error(`decode says ${got}, check says ${code}`);
          if (!d.ok && !DROP_REASONS.includes(d.reason)) throw new Error(`unknown reason ${String(d.reason)}`);
        }
      } catch (err) {
        failures++;
        first ||= `${c.name} at input ${n} (off ${off}, len ${len}, ${Buffer.from(data).toString('hex')}): ${String(err)}`;
      }
    }
    try {
      if (typeof shouldSendIcmpError(buf, off, len) !== 'boolean') throw new Error('not a boolean');
    } catch (err) {
      failures++;
      first ||= `shouldSendIcmpError at input ${n}: ${String(err)}`;
    }
  }
  t.equal(failures, 0, first || 'no throws, no strays');
  t.comment(`seed ${SEED}; outcomes seen: ${seen.size}`);
  for (const want of ['ipv4:ok', 'ipv4:bad-header-checksum', 'vxlan:ok', 'vxlan:bad-flags', 'inner-ethernet:ok', 'udp:ok']) {
    t.ok(seen.has(want), `the fuzz reached ${want}`);
  }
});
