// SPDX-License-Identifier: Apache-2.0
/**
 * Internet checksum: the plain-TS reference (src/packet/checksum.ts) against the
 * addon's, over a 64-byte and a 1500-byte range, plus the 20-byte IPv4 header sum the
 * hot path does per packet. When the addon is not built, or lacks a checksum
 * function, or disagrees with the TS result, the native cases are left out and the
 * reason is printed.
 */
import type { MicroCase } from '../micro.js';
import { internetChecksum, ipv4HeaderChecksum } from '../../src/packet/checksum.js';
import { buildUdpIpv4 } from '../../src/packet/build.js';
import { loadNative } from '../../src/native/load.js';
import type { NativeBinding } from '../../src/native/binding.js';

/** Results land here so the optimiser cannot drop the calls. */
export let sink = 0;

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const B64 = bytes(64, 1);
const B1500 = bytes(1500, 2);
const HEADER = buildUdpIpv4({ src: '10.244.1.2', dst: '10.244.2.3', sport: 1, dport: 2, payload: Buffer.alloc(18) });

type Checksums = Pick<NativeBinding, 'internetChecksum' | 'ipv4HeaderChecksum'>;

/** The addon's checksums if they exist and agree with the TS ones, else the reason they don't. */
function nativeChecksums(): Checksums | string {
  let n: NativeBinding;
  try {
    n = loadNative();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  if (typeof n.internetChecksum !== 'function' || typeof n.ipv4HeaderChecksum !== 'function') {
    return 'the addon has no internetChecksum/ipv4HeaderChecksum';
  }
  try {
    for (const b of [B64, B1500]) {
      if (n.internetChecksum(b, 0, b.length) !== internetChecksum(b, 0, b.length)) return 'the addon disagrees with the TS checksum';
    }
    if (n.ipv4HeaderChecksum(HEADER, 0) !== ipv4HeaderChecksum(HEADER, 0)) return 'the addon disagrees with the TS IPv4 header checksum';
  } catch (err) {
    return `the addon's checksum threw: ${err instanceof Error ? err.message : String(err)}`;
  }
  return n;
}

export const cases: MicroCase[] = [
  { name: 'checksum/ts 64B', fn: () => { sink ^= internetChecksum(B64, 0, 64); } },
  { name: 'checksum/ts 1500B', fn: () => { sink ^= internetChecksum(B1500, 0, 1500); } },
  { name: 'checksum/ts ipv4 header 20B', fn: () => { sink ^= ipv4HeaderChecksum(HEADER, 0); } },
];

const native = nativeChecksums();
if (typeof native === 'string') {
  console.error(`native: not built (${native}); skipping checksum/native cases`);
} else {
  const n = native;
  cases.push(
    { name: 'checksum/native 64B', fn: () => { sink ^= n.internetChecksum(B64, 0, 64); } },
    { name: 'checksum/native 1500B', fn: () => { sink ^= n.internetChecksum(B1500, 0, 1500); } },
    { name: 'checksum/native ipv4 header 20B', fn: () => { sink ^= n.ipv4HeaderChecksum(HEADER, 0); } },
  );
}
