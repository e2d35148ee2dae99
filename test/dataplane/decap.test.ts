// SPDX-License-Identifier: Apache-2.0
/**
 * The Decapsulator's fast path must never decide differently from the codec checks it
 * shortcuts: random corruptions of a valid datagram (headers, lengths, checksums) must
 * get the same verdict and the same drop reason as the plain codec chain (the reference).
 */
import t from 'tap';
import { Decapsulator } from '../../src/dataplane/decap.js';
import { PacketBatch, VERDICT_TUN } from '../../src/dataplane/batch.js';
import { DeviceCounters } from '../../src/dataplane/counters.js';
import { SubnetTable } from '../../src/dataplane/table.js';
import { deviceConfig } from '../../src/dataplane/config.js';
import { buildIcmpEcho, buildIpv4, buildVxlanFrame } from '../../src/packet/build.js';
import { parseIpv4 } from '../../src/packet/ipv4.js';
import { checkIpv4 } from '../../src/packet/ipv4.js';
import { checkInnerEthernet, parseMac } from '../../src/packet/ethernet.js';
import { checkVxlan } from '../../src/packet/vxlan.js';
import { DROP_REASONS } from '../../src/packet/drop.js';
import { rng } from '../helpers/rng.js';

const OUR = parseMac('02:aa:00:00:00:02');

/** The reference: the codec chain alone. */
function reference(frame: Buffer): string {
  let code = checkVxlan(frame, 0, frame.length, 7);
  if (code === 0) code = checkInnerEthernet(frame, 8, frame.length - 8, OUR);
  if (code === 0) code = checkIpv4(frame, 22, frame.length - 22);
  return DROP_REASONS[code]!;
}

t.test('fast path and codec chain agree on 20,000 corrupted datagrams', async (t) => {
  const config = deviceConfig({ vni: 7, vtepMac: OUR, network: parseIpv4('10.244.0.0'), networkPrefixLen: 16, validateSource: false, batchSize: 1 });
  const counters = new DeviceCounters();
  const decap = new Decapsulator(config, new SubnetTable(), counters);
  const batch = new PacketBatch(1, 2048);
  const seeds = [
    buildVxlanFrame({ vni: 7, innerDstMac: OUR, innerSrcMac: '02:aa:00:00:00:01', inner: buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.2', id: 1, seq: 1 }) }),
    // IPv4 with options: accepted by the codecs only (never by the fast path).
    buildVxlanFrame({ vni: 7, innerDstMac: OUR, innerSrcMac: '02:aa:00:00:00:01', inner: buildIpv4({ src: '10.244.1.2', dst: '10.244.2.2', proto: 17, payload: Buffer.alloc(12), options: Buffer.from([1, 1, 1, 0]) }) }),
  ];
  const r = rng(4242);
  let mismatches = 0;
  let accepted = 0;
  const reasons = new Set<string>();
  for (let k = 0; k < 20_000; k++) {
    const frame = Buffer.from(seeds[k % 2]!);
    const flips = 1 + Math.floor(r() * 3);
    for (let f = 0; f < flips && k > 1; f++) {
      const at = Math.floor(r() * Math.min(frame.length, 50));
      frame[at] = r() < 0.5 ? Math.floor(r() * 256) : frame[at]! ^ (1 << Math.floor(r() * 8));
    }
    const cut = r() < 0.1 ? frame.subarray(0, Math.floor(r() * frame.length)) : frame;
    batch.fill(0, cut, parseIpv4('192.168.50.1'), 4000);
    const before = counters.drops.slice();
    decap.run(batch, 1, 0);
    let got = 'ok';
    if (batch.verdict[0] !== VERDICT_TUN) {
      const i = counters.drops.findIndex((v, idx) => v !== before[idx]);
      got = DROP_REASONS[i] ?? '?';
    }
    const want = reference(cut);
    if (got !== want) mismatches++;
    if (got === 'ok') accepted++;
    reasons.add(got);
  }
  t.equal(mismatches, 0, 'same verdict and reason as the codec chain every time');
  t.ok(accepted > 1000, `valid datagrams went through (${accepted})`);
  t.ok(reasons.size >= 8, `many different refusals exercised: ${[...reasons].join(', ')}`);
});

t.test('inner packets longer than the TUN MTU are accepted and counted in overMtu', async (t) => {
  const config = deviceConfig({ vni: 7, vtepMac: OUR, network: parseIpv4('10.244.0.0'), networkPrefixLen: 16, validateSource: false, batchSize: 4 });
  const frame = (payload: number): Buffer => buildVxlanFrame({ vni: 7, innerDstMac: OUR, innerSrcMac: '02:aa:00:00:00:01',
    inner: buildIpv4({ src: '10.244.1.2', dst: '10.244.2.2', proto: 17, payload: Buffer.alloc(payload) }) });
  const run = (mtu: number | undefined): DeviceCounters => {
    const counters = new DeviceCounters();
    const decap = new Decapsulator(config, new SubnetTable(), counters, mtu);
    const batch = new PacketBatch(4, 4096);
    // inner lengths: 1450 (= MTU), 1451, 3000, 100
    [1430, 1431, 2980, 80].forEach((p, i) => batch.fill(i, frame(p), parseIpv4('192.168.50.1'), 4000));
    t.equal(decap.run(batch, 4, 0), 4, 'all four accepted: the kernel decides what happens to the long ones');
    return counters;
  };
  t.equal(run(1450).overMtu, 2, 'two longer than 1450 (one equal to it is not)');
  t.equal(run(1450).snapshot().overMtu, 2, 'in the snapshot');
  t.equal(run(undefined).overMtu, 0, 'MTU unknown: nothing counted');
  t.equal(run(65535).overMtu, 0);
});
