// SPDX-License-Identifier: Apache-2.0
/**
 * Encapsulation: TUN → UDP, one batch at a time.
 *
 * Stages, per batch (no allocation, no call into the addon):
 *   1. the Tun has filled slots 0..n-1 with inner IPv4 packets at slot start + headroom;
 *   2. per packet: sanity (IPv4, length), subnet lookup of the destination;
 *   3. a hit: write inner Ethernet (dst = peer VtepMAC, src = our VtepMAC, 0x0800) and
 *      VXLAN (08 00 00 00 | VNI | 00) into the 22 bytes of headroom in front of the
 *      packet, set addr = peer PublicIP, port = hash of the inner flow, tos = inner ECN
 *      (CE sent as ECT(0), as the kernel's ip_tunnel_ecn_encap), verdict UDP;
 *   4. a miss inside the cluster Network: rewrite the slot in place into an ICMP
 *      net-unreachable for the sender (verdict TUN), rate limited; outside the Network:
 *      drop;
 *   5. the Device then hands the batch to Bind.send (UDP verdicts) and Tun.write (ICMP).
 */
import type { PacketBatch } from './batch.js';
import { VERDICT_DROP, VERDICT_TUN, VERDICT_UDP } from './batch.js';
import type { DeviceConfig } from './config.js';
import type { DeviceCounters } from './counters.js';
import type { Peer, SubnetTable } from './table.js';
import { FlowPortHasher } from './flow-hash.js';
import { Drop } from '../packet/drop.js';
import { shouldSendIcmpError, writeDestUnreachable } from '../packet/icmp.js';

/** Bytes encapsulation puts in front of the inner packet: 14 Ethernet + 8 VXLAN. */
export const ENCAP_PREFIX = 22;
const ICMP_NET_UNREACHABLE = 0;

export interface EncapResult {
  /** Packets with verdict UDP. */
  udp: number;
  /** Packets with verdict TUN (ICMP errors). */
  tun: number;
}

export class Encapsulator {
  readonly #table: SubnetTable;
  readonly #counters: DeviceCounters;
  readonly #hasher: FlowPortHasher;
  /**
   * Our VtepMAC as the words the inner Ethernet header needs after the peer's 6 bytes:
   * bytes 0-1 (low half of the word that starts with the peer's bytes 4-5) and bytes 2-5;
   * and the second VXLAN word (VNI << 8). All int32, for DataView word writes.
   */
  readonly #macHead16: number;
  readonly #macTail32: number;
  readonly #vniWord: number;
  readonly #netMask: number;
  readonly #network: number;
  readonly #icmpRate: number;
  #icmpTokens: number;
  #icmpRefillAt = 0;
  /** Reused result object (one per Encapsulator, not per batch). */
  readonly #result: EncapResult = { udp: 0, tun: 0 };

  constructor(config: DeviceConfig, table: SubnetTable, counters: DeviceCounters, hasher = new FlowPortHasher()) {
    this.#table = table;
    this.#counters = counters;
    this.#hasher = hasher;
    const m = config.vtepMac;
    this.#macHead16 = (m[0]! << 8) | m[1]!;
    this.#macTail32 = (m[2]! << 24) | (m[3]! << 16) | (m[4]! << 8) | m[5]!;
    this.#vniWord = config.vni << 8;
    this.#netMask = config.networkPrefixLen === 0 ? 0 : (0xffffffff << (32 - config.networkPrefixLen)) | 0;
    this.#network = config.network & this.#netMask;
    this.#icmpRate = config.icmpRatePerSec;
    this.#icmpTokens = config.icmpRatePerSec;
  }

  /** Classifies and encapsulates packets 0..n-1 of `batch` in place. The result object is reused. */
  run(batch: PacketBatch, n: number): EncapResult {
    const b = batch.bytes;
    const view = batch.view;
    const off = batch.off;
    const len = batch.len;
    const verdict = batch.verdict;
    const counters = this.#counters;
    const drops = counters.drops;
    const addr = batch.addr;
    const port = batch.port;
    const tos = batch.tos;
    const macHead16 = this.#macHead16;
    const macTail32 = this.#macTail32;
    const vniWord = this.#vniWord;
    const table = this.#table;
    const hasher = this.#hasher;
    const maxPacket = batch.maxPacket;
    let udp = 0;
    let tun = 0;
    let bytes = 0;
    // Packets of a batch often share a destination (the segments of one TSO super-packet
    // always do): look it up only when it changes. Per batch, so table updates apply at once.
    let lastDst = 0;
    let lastPeer: Peer | undefined;
    counters.encapBatches++;
    for (let i = 0; i < n; i++) {
      const o = off[i]!;
      const l = len[i]!;
      bytes += l;
      if (l >= maxPacket) { verdict[i] = VERDICT_DROP; drops[Drop.oversize]!++; continue; } // read may have been cut short
      if (l < 20 || b[o]! >> 4 !== 4) { verdict[i] = VERDICT_DROP; drops[Drop['not-ipv4']]!++; continue; }
      const dst = view.getInt32(o + 16);
      if (dst !== lastDst || lastPeer === undefined) { lastDst = dst; lastPeer = table.lookup(dst); }
      const peer = lastPeer;
      if (peer === undefined) {
        verdict[i] = VERDICT_DROP;
        if ((dst & this.#netMask) === this.#network) {
          drops[Drop['no-lease']]!++;
          if (this.#icmpFor(batch, i, dst)) tun++;
        } else {
          drops[Drop['not-in-network']]!++;
        }
        continue;
      }
      // VXLAN at o-22 (flags word, VNI word), then inner Ethernet at o-14: dst = peer
      // VtepMAC, src = ours, type 0x0800; five word writes and one half-word in all.
      const v = o - ENCAP_PREFIX;
      view.setInt32(v, 0x08000000);
      view.setInt32(v + 4, vniWord);
      view.setInt32(v + 8, peer.macHi);
      view.setInt32(v + 12, (peer.macLo << 16) | macHead16);
      view.setInt32(v + 16, macTail32);
      view.setUint16(v + 20, 0x0800);
      off[i] = v;
      len[i] = l + ENCAP_PREFIX;
      addr[i] = peer.publicIp;
      port[i] = hasher.portFor(view, o, l);
      const ecn = b[o + 1]! & 0x03;
      tos[i] = ecn === 3 ? 2 : ecn;
      verdict[i] = VERDICT_UDP;
      peer.txPackets++;
      peer.txBytes += l;
      udp++;
    }
    counters.tunRxPackets += n;
    counters.tunRxBytes += bytes;
    this.#result.udp = udp;
    this.#result.tun = tun;
    return this.#result;
  }

  /**
   * Turns slot i into an ICMP net-unreachable for its sender, if allowed; true when it did.
   *
   * The error's source is the unreachable destination itself, not our overlay address:
   * the kernel drops a packet arriving on the TUN from one of its own addresses as a
   * martian, so an error "from 10.244.1.0" would never reach the pod.
   */
  #icmpFor(batch: PacketBatch, i: number, dst: number): boolean {
    const o = batch.off[i]!;
    const l = batch.len[i]!;
    if (!shouldSendIcmpError(batch.bytes, o, l)) return false;
    if (!this.#takeIcmpToken()) return false;
    if (o - (batch.dataStart(i) - batch.headroom) < 28) return false; // no room in front of the packet
    const r = writeDestUnreachable(batch.bytes, o, l, dst >>> 0, ICMP_NET_UNREACHABLE);
    batch.off[i] = r.start;
    batch.len[i] = r.length;
    batch.verdict[i] = VERDICT_TUN;
    this.#counters.icmpUnreachSent++;
    return true;
  }

  #takeIcmpToken(): boolean {
    const now = Date.now();
    if (now - this.#icmpRefillAt >= 1000) {
      this.#icmpRefillAt = now;
      this.#icmpTokens = this.#icmpRate;
    }
    if (this.#icmpTokens <= 0) return false;
    this.#icmpTokens--;
    return true;
  }
}
