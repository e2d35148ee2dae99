// SPDX-License-Identifier: Apache-2.0
/**
 * The TypeScript hot path per packet, over a whole batch of 64 as the Device runs it:
 * Encapsulator.run (lookup, inner Ethernet + VXLAN write, flow-hash source port) and
 * Decapsulator.run (kernel-strict validation, source validation, strip). No I/O; the
 * batches are refilled in setup only.
 */
import type { MicroCase } from '../micro.js';
import { PacketBatch } from '../../src/dataplane/batch.js';
import { DeviceCounters } from '../../src/dataplane/counters.js';
import { SubnetTable } from '../../src/dataplane/table.js';
import { Encapsulator } from '../../src/dataplane/encap.js';
import { Decapsulator } from '../../src/dataplane/decap.js';
import { deviceConfig } from '../../src/dataplane/config.js';
import { buildUdpIpv4, buildVxlanFrame } from '../../src/packet/build.js';
import { parseIpv4 } from '../../src/packet/ipv4.js';
import { parseMac } from '../../src/packet/ethernet.js';

export let sink = 0;

const N = 64;
const OUR = '02:aa:00:00:00:01';
const PEER = '02:aa:00:00:00:02';
const table = new SubnetTable();
const peers = [];
for (let k = 0; k < 200; k++) {
  peers.push({ key: `p${k}`, network: parseIpv4(`10.244.${k + 2}.0`), prefixLen: 24, publicIp: parseIpv4(`192.168.${k >> 8}.${(k & 0xff) + 2}`), vtepMac: parseMac(PEER) });
}
table.replace(peers);
const config = deviceConfig({ vni: 1, vtepMac: parseMac(OUR), network: parseIpv4('10.244.0.0'), networkPrefixLen: 16, batchSize: N });
const counters = new DeviceCounters();
const encap = new Encapsulator(config, table, counters);
const decap = new Decapsulator(config, table, counters);

const tx = new PacketBatch(N, 1500);
const txPackets = Array.from({ length: N }, (_, i) =>
  buildUdpIpv4({ src: '10.244.1.2', dst: `10.244.${2 + (i % 50)}.${2 + i}`, sport: 40000 + i, dport: 80, payload: Buffer.alloc(64) }));
const rx = new PacketBatch(N, 1600);
// Datagrams as peer 10.244.2.0/24 (PublicIP 192.168.0.2) sends them to us.
const rxPayloads = Array.from({ length: N }, (_, i) => buildVxlanFrame({ vni: 1, innerDstMac: OUR, innerSrcMac: PEER,
  inner: buildUdpIpv4({ src: `10.244.2.${2 + i}`, dst: '10.244.1.2', sport: 40000 + i, dport: 80, payload: Buffer.alloc(64) }) }));
const rxFrom = parseIpv4('192.168.0.2');

// The descriptors as a fresh read leaves them. Each run moves off[]/len[] (encap prepends,
// decap strips); restoring them with two typed-array copies keeps the harness out of the
// per-packet figure (an element-wise loop here cost ~9 ns per packet).
const txOff = new Uint32Array(N);
const txLen = new Uint32Array(N);
const rxOff = new Uint32Array(N);
const rxLen = new Uint32Array(N);

function refillTx(): void {
  for (let i = 0; i < N; i++) tx.fill(i, txPackets[i]!);
  txOff.set(tx.off);
  txLen.set(tx.len);
}
function refillRx(): void {
  for (let i = 0; i < N; i++) rx.fill(i, rxPayloads[i]!, rxFrom, 40000);
  rxOff.set(rx.off);
  rxLen.set(rx.len);
}

export const cases: MicroCase[] = [
  {
    name: 'batch/encap 64 packets (per packet)',
    perOp: N,
    setup: refillTx,
    fn: () => {
      // Encapsulation moves off[] back by 22 each run: restore the descriptors, not the bytes.
      tx.off.set(txOff);
      tx.len.set(txLen);
      sink ^= encap.run(tx, N).udp;
    },
  },
  {
    name: 'batch/decap 64 packets (per packet)',
    perOp: N,
    setup: refillRx,
    fn: () => {
      rx.off.set(rxOff);
      rx.len.set(rxLen);
      sink ^= decap.run(rx, N, 0);
    },
  },
];
