// SPDX-License-Identifier: Apache-2.0
/**
 * Offload vocabulary shared by the Linux seams, the Device and status: the TUNSETOFFLOAD
 * flags and their names, the layouts of the counter arrays the addon fills (mirrored in
 * native/offload.h), and the helper that re-arms a readiness callback while the addon
 * still holds packets it has read but not yet handed out.
 *
 * What the offloads do (docs/offloads.md has the design and the measurements):
 * - TUN read side: the kernel hands over TCP (and, with USO, UDP) super-packets of up to
 *   64 KB; the addon cuts them into MTU-sized segments in consecutive batch slots.
 * - TUN write side: consecutive segments of one TCP flow are coalesced into one
 *   super-packet and written with one write() ('gro'); with USO, so are consecutive
 *   datagrams of one UDP flow ('gro-udp').
 * - UDP receive side: with UDP_GRO the kernel coalesces same-4-tuple datagrams; the
 *   addon splits them back into one slot per datagram ('udp-gro').
 * - UDP send side: runs of one flow's datagrams go out with UDP_SEGMENT from a socket
 *   bound to that flow's source port ('udp-gso'); the rest through the raw socket.
 */

export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_USO4 = 0x20;
export const TUN_F_USO6 = 0x40;

/** What wireguard-go asks for first and cannot do without. */
export const TUN_OFFLOADS_BASE = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
/** Probed on top of the base set (Linux 6.2+); kept when the kernel accepts it. */
export const TUN_OFFLOADS_USO = TUN_F_USO4 | TUN_F_USO6;

const FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [TUN_F_CSUM, 'csum'], [TUN_F_TSO4, 'tso4'], [TUN_F_TSO6, 'tso6'], [TUN_F_USO4, 'uso4'], [TUN_F_USO6, 'uso6'],
];

/** Names of the TUNSETOFFLOAD flags set in `flags`, in a fixed order. */
export function tunOffloadNames(flags: number): string[] {
  return FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

/** Counter array of a TUN's offload state (index = position; native/offload.h TunStat). */
export const TUN_STATS = [
  'pending',            // segments read but not yet handed out (a level, not a counter)
  'badVnetHeader',      // packets dropped for a malformed virtio_net_hdr ('bad-gso')
  'superRead',          // GSO super-packets read
  'segmentsOut',        // segments cut from them
  'checksumsFinished',  // GSO_NONE packets whose partial checksum the addon completed
  'superWritten',       // coalesced super-packets written
  'segmentsMerged',     // segments inside them
  'udpSuperWritten',    // of those super-packets, the UDP ones (GSO_UDP_L4; needs USO)
  'udpGroDisabled',     // 1 once the kernel refused a UDP super-packet write (UDP goes one by one since)
  'oversizeTcp',        // TCP packets over the MTU (a peer's TSO frame that crossed a veth whole) written as GSO for the kernel to cut
] as const;
export const TUN_STAT_PENDING = 0;
export const TUN_STAT_DROPPED = 1;

/** Counter array of a UDP socket's GRO state (native/offload.h UdpStat). */
export const UDP_GRO_STATS = [
  'pending',            // datagrams received but not yet handed out (a level)
  'coalesced',          // coalesced messages received
  'segmentsOut',        // datagrams split out of them
  'overflow',           // messages parked because the batch was full
] as const;
export const UDP_STAT_PENDING = 0;

/** Counter array of the UDP GSO sender (native/udp.h GsoStat). */
export const UDP_GSO_STATS = [
  'sockets',            // UDP_SEGMENT sockets open (a level)
  'sends',              // UDP_SEGMENT sends
  'segments',           // datagrams inside them
  'bindFailures',       // source ports another socket holds (those flows stay on the raw path)
  'fallbacks',          // runs sent raw after the kernel refused the GSO send
  'disabled',           // 1 once the kernel said it cannot do UDP GSO
] as const;

export type OffloadStats = Record<string, number>;

/** A plain-object copy of a counter array, keyed by `names`. */
export function statsObject(names: readonly string[], values: Float64Array): OffloadStats {
  const out: OffloadStats = {};
  names.forEach((name, i) => { out[name] = values[i] ?? 0; });
  return out;
}

/** What a seam with offloads reports (LinuxTun, LinuxBind); in-memory seams have none. */
export interface OffloadReporter {
  /** Offloads in effect, e.g. ['csum', 'tso4', 'tso6', 'gro'] or ['udp-gro']. */
  readonly offloads: readonly string[];
  /** Counters of the offload paths (undefined when they are off). */
  offloadStats(): OffloadStats | undefined;
}

function isReporter(x: unknown): x is OffloadReporter {
  return typeof x === 'object' && x !== null && Array.isArray((x as { offloads?: unknown }).offloads) &&
    typeof (x as { offloadStats?: unknown }).offloadStats === 'function';
}

/** The offloads a seam reports, or [] for a seam without any. */
export function offloadsOf(seam: unknown): readonly string[] {
  return isReporter(seam) ? seam.offloads : [];
}

/** The offload counters a seam reports, or undefined. */
export function offloadStatsOf(seam: unknown): OffloadStats | undefined {
  return isReporter(seam) ? seam.offloadStats() : undefined;
}

/**
 * Re-arms a readiness callback while the addon holds packets read but not handed out (a
 * super-packet cut across batches, coalesced datagrams parked): the fd may then no longer
 * be readable, so the level-triggered poll would not call back. After each read, check()
 * asks for one more call through `arm` (the addon's pollKick: coalesced, allocation-free)
 * when data is still pending; the Tun/Bind contract allows the call to find nothing.
 */
export class PendingKick {
  readonly #pending: () => boolean;
  #arm: (() => void) | undefined;

  constructor(pending: () => boolean) {
    this.#pending = pending;
  }

  /** What schedules the extra callback (undefined: nothing to re-arm, e.g. after close). */
  set arm(fn: (() => void) | undefined) {
    this.#arm = fn;
  }

  check(): void {
    if (this.#arm !== undefined && this.#pending()) this.#arm();
  }
}
