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
import type { SubnetTable } from './table.js';
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
  readonly #mac: Uint8Array;
  readonly #vni: number;
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
    this.#mac = Uint8Array.from(config.vtepMac);
    this.#vni = config.vni;
    this.#netMask = config.networkPrefixLen === 0 ? 0 : (0xffffffff << (32 - config.networkPrefixLen)) | 0;
    this.#network = config.network & this.#netMask;
    this.#icmpRate = config.icmpRatePerSec;
    this.#icmpTokens = config.icmpRatePerSec;
  }

  /** Classifies and encapsulates packets 0..n-1 of `batch` in place. The result object is reused. */
  run(batch: PacketBatch, n: number): EncapResult {
    const b = batch.bytes;
    const off = batch.off;
    const len = batch.len;
    const verdict = batch.verdict;
    const counters = this.#counters;
    const mac = this.#mac;
    const vni = this.#vni;
    const table = this.#table;
    const maxPacket = batch.maxPacket;
    let udp = 0;
    let tun = 0;
    counters.encapBatches++;
    for (let i = 0; i < n; i++) {
      const o = off[i]!;
      const l = len[i]!;
      counters.tunRxPackets++;
      counters.tunRxBytes += l;
      verdict[i] = VERDICT_DROP;
      if (l >= maxPacket) { counters.drops[Drop.oversize]!++; continue; } // read may have been cut short
      if (l < 20 || b[o]! >> 4 !== 4) { counters.drops[Drop['not-ipv4']]!++; continue; }
      const dst = (b[o + 16]! << 24) | (b[o + 17]! << 16) | (b[o + 18]! << 8) | b[o + 19]!;
      const peer = table.lookup(dst);
      if (peer === undefined) {
        if ((dst & this.#netMask) === this.#network) {
          counters.drops[Drop['no-lease']]!++;
          if (this.#icmpFor(batch, i, dst)) tun++;
        } else {
          counters.drops[Drop['not-in-network']]!++;
        }
        continue;
      }
      // Inner Ethernet header at o-14, VXLAN header at o-22.
      const e = o - 14;
      const pm = peer.vtepMac;
      b[e] = pm[0]!; b[e + 1] = pm[1]!; b[e + 2] = pm[2]!; b[e + 3] = pm[3]!; b[e + 4] = pm[4]!; b[e + 5] = pm[5]!;
      b[e + 6] = mac[0]!; b[e + 7] = mac[1]!; b[e + 8] = mac[2]!; b[e + 9] = mac[3]!; b[e + 10] = mac[4]!; b[e + 11] = mac[5]!;
      b[e + 12] = 0x08; b[e + 13] = 0x00;
      const v = o - 22;
      b[v] = 0x08; b[v + 1] = 0; b[v + 2] = 0; b[v + 3] = 0;
      b[v + 4] = (vni >>> 16) & 0xff; b[v + 5] = (vni >>> 8) & 0xff; b[v + 6] = vni & 0xff; b[v + 7] = 0;
      off[i] = v;
      len[i] = l + ENCAP_PREFIX;
      batch.addr[i] = peer.publicIp;
      batch.port[i] = this.#hasher.portFor(b, o, l);
      const ecn = b[o + 1]! & 0x03;
      batch.tos[i] = ecn === 3 ? 2 : ecn;
      verdict[i] = VERDICT_UDP;
      peer.txPackets++;
      peer.txBytes += l;
      udp++;
    }
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
