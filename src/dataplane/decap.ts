// SPDX-License-Identifier: Apache-2.0
/**
 * Decapsulation: UDP → TUN, one batch at a time.
 *
 * Stages, per batch (no allocation, no call into the addon):
 *   1. the Bind has filled slots 0..n-1 with UDP payloads (from the VXLAN header on) and
 *      the sender's address and port;
 *   2. per datagram, what the Linux kernel's vxlan_rcv accepts: exactly the I flag, zero
 *      reserved bits, our VNI; an inner frame to our VtepMAC, not from it, from a unicast
 *      MAC, of type IPv4; a sane IPv4 header (version, IHL, total length, checksum);
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
import type { SubnetTable } from './table.js';
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

  constructor(config: DeviceConfig, table: SubnetTable, counters: DeviceCounters) {
    this.#table = table;
    this.#counters = counters;
    this.#mac = Uint8Array.from(config.vtepMac);
    this.#vni = config.vni;
    this.#validateSource = config.validateSource;
  }

  /** Validates and strips datagrams 0..n-1 of `batch` in place; returns how many go to the TUN. */
  run(batch: PacketBatch, n: number, now: number): number {
    const b = batch.bytes;
    const off = batch.off;
    const len = batch.len;
    const verdict = batch.verdict;
    const counters = this.#counters;
    const drops = counters.drops;
    const maxPacket = batch.maxPacket;
    const validate = this.#validateSource;
    let accepted = 0;
    counters.decapBatches++;
    for (let i = 0; i < n; i++) {
      const o = off[i]!;
      const l = len[i]!;
      verdict[i] = VERDICT_DROP;
      counters.udpRxPackets++;
      counters.udpRxBytes += l;
      if (l > maxPacket) { drops[Drop.oversize]!++; continue; }
      let code = checkVxlan(b, o, l, this.#vni);
      if (code !== 0) { drops[code]!++; continue; }
      code = checkInnerEthernet(b, o + 8, l - 8, this.#mac);
      if (code !== 0) { drops[code]!++; continue; }
      const ip = o + 22;
      code = checkIpv4(b, ip, l - 22);
      if (code !== 0) { drops[code]!++; continue; }
      const peer = this.#table.byPublicIp(batch.addr[i]!);
      if (validate) {
        if (peer === undefined) { drops[Drop['unknown-peer']]!++; continue; }
        const src = (b[ip + 12]! << 24) | (b[ip + 13]! << 16) | (b[ip + 14]! << 8) | b[ip + 15]!;
        if ((src & peer.mask) !== peer.network) { drops[Drop['spoofed-source']]!++; continue; }
      }
      const total = (b[ip + 2]! << 8) | b[ip + 3]!;
      off[i] = ip;
      len[i] = total;
      verdict[i] = VERDICT_TUN;
      if (peer !== undefined) {
        peer.rxPackets++;
        peer.rxBytes += total;
        peer.lastRx = now;
      }
      accepted++;
    }
    return accepted;
  }
}
