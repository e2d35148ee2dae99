// SPDX-License-Identifier: Apache-2.0
import { DROP_REASONS, DROP_REASON_COUNT, type DropReason } from '../packet/drop.js';

/**
 * Device-wide counters. The hot path increments typed-array slots and plain number
 * fields only; snapshot() builds the object status and metrics show.
 */
export class DeviceCounters {
  /** Drops by reason code (index = code in DROP_REASONS). */
  readonly drops = new Float64Array(DROP_REASON_COUNT);
  /** Inner packets read from the TUN / encapsulated and handed to the UDP side. */
  tunRxPackets = 0;
  tunRxBytes = 0;
  udpTxPackets = 0;
  udpTxBytes = 0;
  /** VXLAN datagrams received / inner packets written to the TUN. */
  udpRxPackets = 0;
  udpRxBytes = 0;
  tunTxPackets = 0;
  tunTxBytes = 0;
  /**
   * Inner packets from the wire whose TCP/UDP checksum was a partial (pseudo-header) sum a
   * sender's NIC should have finished (a kernel VTEP on a veth underlay), finished by the
   * TUN write so the pod's stack accepts them.
   */
  checksumsFinished = 0;
  /**
   * Accepted inner packets longer than the TUN's MTU: a peer whose MTU is larger than ours,
   * or a kernel peer's whole TSO frame on a veth underlay (of those, the TUN stat
   * `oversizeTcp` counts the ones handed to the kernel to cut). The kernel fragments the
   * rest or answers "fragmentation needed" (DF).
   */
  overMtu = 0;
  /** ICMP destination-unreachable messages written back into the TUN. */
  icmpUnreachSent = 0;
  /** Batches processed per direction, and packets in them (mean batch size = packets / batches). */
  encapBatches = 0;
  decapBatches = 0;

  drop(code: number, count = 1): void {
    this.drops[code]! += count;
  }

  /** Drops of one named reason. */
  dropsOf(reason: DropReason): number {
    return this.drops[DROP_REASONS.indexOf(reason)]!;
  }

  /** A plain-object copy: non-zero drops by name plus the totals. */
  snapshot(): CountersSnapshot {
    const drops: Partial<Record<DropReason, number>> = {};
    for (let i = 1; i < DROP_REASON_COUNT; i++) if (this.drops[i]! > 0) drops[DROP_REASONS[i]!] = this.drops[i]!;
    return {
      tunRxPackets: this.tunRxPackets, tunRxBytes: this.tunRxBytes,
      udpTxPackets: this.udpTxPackets, udpTxBytes: this.udpTxBytes,
      udpRxPackets: this.udpRxPackets, udpRxBytes: this.udpRxBytes,
      tunTxPackets: this.tunTxPackets, tunTxBytes: this.tunTxBytes,
      checksumsFinished: this.checksumsFinished,
      overMtu: this.overMtu,
      icmpUnreachSent: this.icmpUnreachSent,
      encapBatches: this.encapBatches, decapBatches: this.decapBatches,
      drops,
    };
  }
}

export interface CountersSnapshot {
  tunRxPackets: number; tunRxBytes: number;
  udpTxPackets: number; udpTxBytes: number;
  udpRxPackets: number; udpRxBytes: number;
  tunTxPackets: number; tunTxBytes: number;
  checksumsFinished: number;
  overMtu: number;
  icmpUnreachSent: number;
  encapBatches: number; decapBatches: number;
  drops: Partial<Record<DropReason, number>>;
}
