// SPDX-License-Identifier: Apache-2.0
/**
 * Decapsulation: UDP → TUN, one batch at a time.
 *
 * Stages, per batch (no allocation, no call into the addon):
 *   1. the Bind has filled slots 0..n-1 with UDP payloads (from the VXLAN header on) and
 *      the sender's address and port;
 *   2. per datagram, what the Linux kernel's vxlan_rcv accepts: exactly the I flag, zero
 *      reserved bits, our VNI; an inner frame to our VtepMAC, not from it, from a unicast
 *      MAC, of type IPv4; a sane IPv4 header (version, IHL, total length, checksum). A
 *      fast path checks the common exact shape with a few word reads; whatever it does not
 *      accept goes through the codecs, which accept IPv4 options and name every refusal;
 *   3. beyond the kernel (config.validateSource, on by default): the outer source must be
 *      a peer's PublicIP and the inner source inside that peer's subnet (its `.0` VTEP
 *      address included);
 *   4. accepted: the slot now describes the inner IPv4 packet trimmed to its total length
 *      (never the UDP length: senders may pad), verdict TUN. Every refusal counts its
 *      reason.
 */
import type { PacketBatch } from './batch.js';
import { VERDICT_DROP, VERDICT_TUN } from './batch.js';
import type { DeviceConfig } from './config.js';
import type { DeviceCounters } from './counters.js';
import type { Peer, SubnetTable } from './table.js';
import { Drop } from '../packet/drop.js';
import { checkVxlan } from '../packet/vxlan.js';
import { checkInnerEthernet } from '../packet/ethernet.js';
import { checkIpv4 } from '../packet/ipv4.js';

export class Decapsulator {
  readonly #table: SubnetTable;
  readonly #counters: DeviceCounters;
  readonly #mac: Uint8Array;
  readonly #vni: number;
  readonly #validateSource: boolean;
  readonly #tunMtu: number;
  /** The second VXLAN word we accept (VNI << 8), and our MAC as a 32 + 16-bit pair, int32, for the fast path. */
  readonly #vniWord: number;
  readonly #macHi: number;
  readonly #macLo: number;

  /** tunMtu: the TUN's MTU, for counters.overMtu (0: unknown, nothing counted). */
  constructor(config: DeviceConfig, table: SubnetTable, counters: DeviceCounters, tunMtu = 0) {
    this.#tunMtu = tunMtu > 0 ? tunMtu : 0xffff;
    this.#table = table;
    this.#counters = counters;
    this.#mac = Uint8Array.from(config.vtepMac);
    this.#vni = config.vni;
    this.#validateSource = config.validateSource;
    this.#vniWord = config.vni << 8;
    const m = this.#mac;
    this.#macHi = (m[0]! << 24) | (m[1]! << 16) | (m[2]! << 8) | m[3]!;
    this.#macLo = (m[4]! << 8) | m[5]!;
  }

  /**
   * The fast path: true when the datagram at o is exactly what a well-behaved peer sends
   * (flags 08 000000, our VNI, reserved zero, inner frame to our MAC from another unicast
   * MAC, IPv4 without options, a sane total length, a correct header checksum). Anything
   * else takes the codec checks, which name the reason (and accept IPv4 options).
   */
  #wellFormed(v: DataView, o: number, l: number): boolean {
    if (l < 42 || v.getInt32(o) !== 0x08000000 || v.getInt32(o + 4) !== this.#vniWord) return false;
    if (v.getInt32(o + 8) !== this.#macHi || v.getUint16(o + 12) !== this.#macLo) return false;
    const srcHi = v.getInt32(o + 14);
    const srcLo = v.getUint16(o + 18);
    if ((srcHi & 0x01000000) !== 0 || (srcHi === 0 && srcLo === 0) || (srcHi === this.#macHi && srcLo === this.#macLo)) return false;
    // Ethertype 0x0800, then IPv4 version 4 / IHL 5 and TOS in one word; the TOS is free.
    const w0 = v.getInt32(o + 20);
    if ((w0 & 0xffffff00) !== 0x08004500) return false;
    const total = v.getUint16(o + 24);
    if (total < 20 || total > l - 22) return false;
    // The header checksum over five 32-bit words: halves summed, then folded twice.
    const ip = o + 22;
    const w1 = v.getInt32(ip);
    const w2 = v.getInt32(ip + 4);
    const w3 = v.getInt32(ip + 8);
    const w4 = v.getInt32(ip + 12);
    const w5 = v.getInt32(ip + 16);
    let sum = (w1 >>> 16) + (w1 & 0xffff) + (w2 >>> 16) + (w2 & 0xffff) + (w3 >>> 16) + (w3 & 0xffff) +
      (w4 >>> 16) + (w4 & 0xffff) + (w5 >>> 16) + (w5 & 0xffff);
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    return sum === 0xffff;
  }

  /** Validates and strips datagrams 0..n-1 of `batch` in place; returns how many go to the TUN. */
  run(batch: PacketBatch, n: number, now: number): number {
    const b = batch.bytes;
    const view = batch.view;
    const off = batch.off;
    const len = batch.len;
    const verdict = batch.verdict;
    const counters = this.#counters;
    const drops = counters.drops;
    const maxPacket = batch.maxPacket;
    const validate = this.#validateSource;
    const table = this.#table;
    const addr = batch.addr;
    const mtu = this.#tunMtu;
    let accepted = 0;
    let overMtu = 0;
    let rxBytes = 0;
    // Datagrams of a batch mostly come from one peer (a UDP_GRO run is one sender): look the
    // sender up only when it changes. Per batch, so a table update is seen by the next one.
    let lastAddr = -1;
    let lastPeer: Peer | undefined;
    counters.decapBatches++;
    for (let i = 0; i < n; i++) {
      const o = off[i]!;
      const l = len[i]!;
      verdict[i] = VERDICT_DROP;
      rxBytes += l;
      if (l > maxPacket) { drops[Drop.oversize]!++; continue; }
      if (!this.#wellFormed(view, o, l)) {
        let code = checkVxlan(b, o, l, this.#vni);
        if (code === 0) code = checkInnerEthernet(b, o + 8, l - 8, this.#mac);
        if (code === 0) code = checkIpv4(b, o + 22, l - 22);
        if (code !== 0) { drops[code]!++; continue; }
      }
      const ip = o + 22;
      const from = addr[i]!;
      if (from !== lastAddr) { lastAddr = from; lastPeer = table.byPublicIp(from); }
      const peer = lastPeer;
      if (validate) {
        if (peer === undefined) { drops[Drop['unknown-peer']]!++; continue; }
        const src = (b[ip + 12]! << 24) | (b[ip + 13]! << 16) | (b[ip + 14]! << 8) | b[ip + 15]!;
        if ((src & peer.mask) !== peer.network) { drops[Drop['spoofed-source']]!++; continue; }
      }
      const total = (b[ip + 2]! << 8) | b[ip + 3]!;
      off[i] = ip;
      len[i] = total;
      verdict[i] = VERDICT_TUN;
      if (total > mtu) overMtu++;
      if (peer !== undefined) {
        peer.rxPackets++;
        peer.rxBytes += total;
        peer.lastRx = now;
      }
      accepted++;
    }
    counters.overMtu += overMtu;
    counters.udpRxPackets += n;
    counters.udpRxBytes += rxBytes;
    return accepted;
  }
}
