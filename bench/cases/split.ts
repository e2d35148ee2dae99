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
import { buildTcpIpv4, TCP_ACK, TCP_CHECKSUM_OFFSET, TCP_HEADER_LEN, TCP_PSH } from '../../src/packet/build.js';
import { pseudoHeaderSum } from '../../src/packet/checksum.js';
import type { NativeBinding } from '../../src/native/binding.js';

export let sink = 0;

const SEGMENTS = 44;
const MSS = 1448;

/**
 * virtio_net_hdr (GSO_TCPV4, NEEDS_CSUM, gso_size MSS) + an IPv4 TCP super-packet from the
 * packet builders whose checksum field holds only the pseudo-header sum, as the kernel
 * hands a TSO super-packet over.
 */
function superPacket(): Buffer {
  const payload = Buffer.alloc(SEGMENTS * MSS);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
  const ip = buildTcpIpv4({ src: '10.244.1.2', dst: '10.244.2.2', sport: 40000, dport: 5201, seq: 1, ack: 1, flags: TCP_ACK | TCP_PSH, payload });
  const l4Len = ip.length - 20;
  ip.writeUInt16BE(pseudoHeaderSum(ip.readUInt32BE(12), ip.readUInt32BE(16), 6, l4Len), 20 + TCP_CHECKSUM_OFFSET);
  const vnet = Buffer.alloc(10);
  vnet[0] = 1; // NEEDS_CSUM
  vnet[1] = 1; // GSO_TCPV4
  vnet.writeUInt16LE(20 + TCP_HEADER_LEN, 2); // hdr_len
  vnet.writeUInt16LE(MSS, 4); // gso_size
  vnet.writeUInt16LE(20, 6); // csum_start
  vnet.writeUInt16LE(TCP_CHECKSUM_OFFSET, 8); // csum_offset
  return Buffer.concat([vnet, ip]);
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
