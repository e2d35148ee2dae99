// SPDX-License-Identifier: Apache-2.0
/**
 * The TUN read side's segmentation: one 64 KB TCP super-packet (44 segments of 1448 bytes,
 * as a kernel TSO super-packet with NEEDS_CSUM) written into a SOCK_SEQPACKET pair that
 * stands in for the TUN, then one tunRead that cuts it into the batch, with IPv4 header
 * and TCP checksums per segment. The figure is per segment and includes both syscalls'
 * copies of the 64 KB. No privileges needed; left out (with the reason) when the addon is
 * not built.
 */
import { closeSync, writeSync } from 'node:fs';
import type { MicroCase } from '../micro.js';
import { PacketBatch } from '../../src/dataplane/batch.js';
import { TUN_OFFLOADS_BASE, TUN_STATS } from '../../src/dataplane/offload.js';
import { loadNative } from '../../src/native/load.js';
import type { NativeBinding } from '../../src/native/binding.js';

export let sink = 0;

const SEGMENTS = 44;
const MSS = 1448;

/** virtio_net_hdr (GSO_TCPV4, NEEDS_CSUM) + IPv4 + TCP (ACK|PSH, checksum field = pseudo-header sum) + payload. */
function superPacket(): Buffer {
  const payload = SEGMENTS * MSS;
  const total = 40 + payload;
  const b = Buffer.alloc(10 + total);
  b[0] = 1; // NEEDS_CSUM
  b[1] = 1; // GSO_TCPV4
  b.writeUInt16LE(40, 2); // hdr_len
  b.writeUInt16LE(MSS, 4); // gso_size
  b.writeUInt16LE(20, 6); // csum_start
  b.writeUInt16LE(16, 8); // csum_offset
  const ip = b.subarray(10);
  ip[0] = 0x45;
  ip.writeUInt16BE(total, 2);
  ip.writeUInt16BE(0x4000, 6); // DF
  ip[8] = 64;
  ip[9] = 6;
  ip.set([10, 244, 1, 2, 10, 244, 2, 2], 12);
  ip.writeUInt16BE(40000, 20);
  ip.writeUInt16BE(5201, 22);
  ip.writeUInt32BE(1, 24);
  ip.writeUInt32BE(1, 28);
  ip[32] = 5 << 4;
  ip[33] = 0x18; // ACK|PSH
  ip.writeUInt16BE(65535, 34);
  let pseudo = 0x0af4 + 0x0102 + 0x0af4 + 0x0202 + 6 + (total - 20);
  while (pseudo > 0xffff) pseudo = (pseudo & 0xffff) + (pseudo >>> 16);
  ip.writeUInt16BE(pseudo, 36);
  for (let i = 40; i < total; i++) ip[i] = (i * 7) & 0xff;
  return b;
}

function splitCases(): MicroCase[] {
  let native: NativeBinding;
  try {
    native = loadNative();
  } catch (err) {
    console.error(`split cases left out: ${err instanceof Error ? err.message : String(err)}`);
    return [];
  }
  const [peer, fd] = native.socketPair();
  process.once('exit', () => {
    closeSync(peer);
    closeSync(fd);
  });
  const state = native.tunOffloadNew(TUN_OFFLOADS_BASE, new Float64Array(TUN_STATS.length));
  const batch = new PacketBatch(64, 1500).native(native);
  const sup = superPacket();
  return [{
    name: `tun/split a 64 KB TCP super-packet, write + tunRead (per segment, ${SEGMENTS} segments)`,
    perOp: SEGMENTS,
    fn: () => {
      writeSync(peer, sup);
      const n = native.tunRead(fd, batch, 64, state);
      if (n !== SEGMENTS) throw new Error(`tunRead cut ${n} segments, expected ${SEGMENTS}`);
      sink ^= n;
    },
  }];
}

export const cases: MicroCase[] = splitCases();
