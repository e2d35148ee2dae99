// SPDX-License-Identifier: Apache-2.0
/**
 * Subnet lookup at 5,000 leases: the common flannel shape (every lease a /24, one hash
 * probe) against a table mixing prefix lengths (probes per length, with the lru-cache
 * front), and the lru-cache alone as a front for the /24 table, to show why it is not used
 * there.
 */
import { LRUCache } from 'lru-cache';
import type { MicroCase } from '../micro.js';
import { SubnetTable, maskOf, type PeerLease, type Peer } from '../../src/dataplane/table.js';

export let sink = 0;

const LEASES = 5000;
const mac = Uint8Array.of(2, 0xaa, 0, 0, 0, 1);
function leases(mixed: boolean): PeerLease[] {
  const out: PeerLease[] = [];
  for (let k = 0; k < LEASES; k++) {
    const len = mixed ? [24, 25, 26, 23][k % 4]! : 24;
    const net = ((10 << 24) | ((k >> 8) << 16) | ((k & 0xff) << 8)) & maskOf(len);
    out.push({ key: `${k}`, network: net, prefixLen: len, publicIp: 0xc0a80000 + k, vtepMac: mac });
  }
  return out;
}

const uniform = new SubnetTable();
uniform.replace(leases(false));
const mixedTable = new SubnetTable();
mixedTable.replace(leases(true));
// 1024 hot destinations spread over the leases.
const dsts = new Int32Array(1024);
for (let i = 0; i < dsts.length; i++) {
  const k = (i * 4099) % LEASES;
  dsts[i] = (10 << 24) | ((k >> 8) << 16) | ((k & 0xff) << 8) | (i & 0x7f);
}
const front = new LRUCache<number, Peer>({ max: 4096 });
let cursor = 0;

export const cases: MicroCase[] = [
  {
    name: 'table/lookup 5000 leases, all /24 (one probe)',
    perOp: dsts.length,
    fn: () => {
      let hits = 0;
      for (let i = 0; i < dsts.length; i++) if (uniform.lookup(dsts[i]!) !== undefined) hits++;
      sink ^= hits;
    },
  },
  {
    name: 'table/lookup 5000 leases, mixed /23-/26 (lru front)',
    perOp: dsts.length,
    fn: () => {
      let hits = 0;
      for (let i = 0; i < dsts.length; i++) if (mixedTable.lookup(dsts[i]!) !== undefined) hits++;
      sink ^= hits;
    },
  },
  {
    name: 'table/lru-cache get alone (hot entries)',
    perOp: dsts.length,
    setup: () => { for (let i = 0; i < dsts.length; i++) front.set(dsts[i]!, uniform.lookup(dsts[i]!)!); },
    fn: () => {
      let hits = 0;
      for (let i = 0; i < dsts.length; i++) if (front.get(dsts[(i + cursor) & 1023]!) !== undefined) hits++;
      cursor++;
      sink ^= hits;
    },
  },
];
