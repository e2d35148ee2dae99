// SPDX-License-Identifier: Apache-2.0
/**
 * LinuxTun: the real device, through the addon. Opening creates (or attaches to) the TUN,
 * sets its MTU and brings it up; the fd is non-blocking and watched by a uv_poll.
 *
 * Offloads (options.offload): the TUN is opened with IFF_VNET_HDR and TUNSETOFFLOAD asks
 * for CSUM|TSO4|TSO6, then probes USO4|USO6 on top (Linux 6.2+) and keeps them when the
 * kernel accepts. The kernel then hands over TCP super-packets of up to 64 KB, which the
 * addon cuts into segments in the batch; on the way back, runs of one TCP flow are
 * coalesced into one write. The batch still holds ordinary packets either way. Fallbacks:
 * a kernel refusing the base set leaves the device with virtio headers but no offloads
 * (`offloads` then lists only the write-side 'gro'); offload: false opens the plain
 * device. tso, uso, gro and groUdp turn the parts off one by one (offload-switches.ts).
 */
import type { Tun } from './tun.js';
import type { PacketBatch } from '../dataplane/batch.js';
import { VERDICT_TUN } from '../dataplane/batch.js';
import type { NativeBinding, NativePoll, NativeTunOffload } from '../native/binding.js';
import { loadNative } from '../native/load.js';
import {
  PendingKick, statsObject, tunOffloadNames, TUN_OFFLOADS_BASE, TUN_OFFLOADS_USO, TUN_F_CSUM, TUN_F_USO4, TUN_STATS, TUN_STAT_DROPPED,
  TUN_STAT_PENDING, type OffloadReporter, type OffloadStats,
} from '../dataplane/offload.js';

/** Offloads are on unless turned off (`vxtun run --no-offload`). */
export const DEFAULT_TUN_OFFLOAD = true;

export interface LinuxTunOptions {
  /** Device name, e.g. 'flannel.1'. */
  name: string;
  mtu: number;
  /** Open with virtio headers and negotiate TSO/USO (default DEFAULT_TUN_OFFLOAD). */
  offload?: boolean;
  /** With offload: ask for CSUM|TSO4|TSO6 (default true). */
  tso?: boolean;
  /** With offload: also probe USO4/USO6 (default true). */
  uso?: boolean;
  /** With offload: coalesce runs of one TCP flow into one write (default true). */
  gro?: boolean;
  /** With offload and USO4 accepted: coalesce runs of one UDP flow (default true). */
  groUdp?: boolean;
  native?: NativeBinding;
}

/** Which flows tunWrite may coalesce: tunOffloadNew's `coalesce` bits (1 TCP, 2 UDP). */
function coalesceBits(o: { gro?: boolean; groUdp?: boolean }): number {
  return (o.gro === false ? 0 : 1) | (o.groUdp === false ? 0 : 2);
}

interface OffloadState { handle: NativeTunOffload; stats: Float64Array; flags: number; coalesce: number }

/**
 * Asks for TSO (the base set, CSUM|TSO4|TSO6) and/or USO (CSUM|USO4|USO6), both first,
 * then what is left when the kernel refuses (EINVAL); returns the flags in effect. 0 when
 * neither is wanted or the kernel refuses every attempt: the virtio header stays, the
 * kernel hands over ordinary packets. Other errors throw.
 */
export function negotiateTunOffloads(native: NativeBinding, fd: number, want: { tso: boolean; uso: boolean }): number {
  const base = want.tso ? TUN_OFFLOADS_BASE : 0;
  const attempts = want.uso ? [base | TUN_F_CSUM | TUN_OFFLOADS_USO] : [];
  if (want.tso) attempts.push(base);
  attempts.push(0); // an attached persistent device may still carry an earlier owner's flags
  for (const flags of attempts) {
    try {
      native.tunSetOffload(fd, flags);
      return flags;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EINVAL') throw err;
    }
  }
  return 0;
}

export class LinuxTun implements Tun, OffloadReporter {
  readonly name: string;
  readonly mtu: number;
  /** Offloads in effect: TUNSETOFFLOAD names ('csum', 'tso4', 'tso6', 'uso4', 'uso6') plus 'gro' (coalesced TCP writes) and, with USO4, 'gro-udp' (coalesced UDP writes). */
  readonly offloads: readonly string[];
  readonly #native: NativeBinding;
  readonly #offload: OffloadState | undefined;
  readonly #kick: PendingKick;
  #fd: number;
  #poll: NativePoll | undefined;
  #seenDrops = 0;
  /**
   * [0]: leaked partial checksums the addon finished before writing; [1]: without virtio
   * headers, oversize TCP packets the addon cut into MTU-sized segments (see write).
   */
  readonly #finished = new Float64Array(2);

  private constructor(native: NativeBinding, fd: number, name: string, mtu: number, offload: OffloadState | undefined) {
    this.#native = native;
    this.#fd = fd;
    this.name = name;
    this.mtu = mtu;
    this.#offload = offload;
    this.offloads = offload === undefined ? [] : [
      ...tunOffloadNames(offload.flags),
      ...((offload.coalesce & 1) !== 0 ? ['gro'] : []),
      ...((offload.coalesce & 2) !== 0 && (offload.flags & TUN_F_USO4) !== 0 ? ['gro-udp'] : []),
    ];
    this.#kick = new PendingKick(() => (this.#offload?.stats[TUN_STAT_PENDING] ?? 0) > 0);
  }

  /** Opens the device, sets its MTU and brings it up. Throws the addon's error (errno, code, device name) on failure. */
  static open(options: LinuxTunOptions): LinuxTun {
    const native = loadNative(options.native);
    const offload = options.offload ?? DEFAULT_TUN_OFFLOAD;
    const handle = native.tunOpen(options.name, offload ? { vnetHdr: true } : {});
    let state: OffloadState | undefined;
    try {
      if (offload) {
        const flags = negotiateTunOffloads(native, handle.fd, { tso: options.tso ?? true, uso: options.uso ?? true });
        const stats = new Float64Array(TUN_STATS.length);
        const coalesce = coalesceBits(options);
        state = { handle: native.tunOffloadNew(flags, stats, options.mtu, coalesce), stats, flags, coalesce };
      }
      native.linkSetMtu(handle.name, options.mtu);
      native.linkSetUp(handle.name);
    } catch (err) {
      native.close(handle.fd);
      throw err;
    }
    return new LinuxTun(native, handle.fd, handle.name, options.mtu, state);
  }

  /**
   * Wraps an fd that is already open (a TUN opened elsewhere, or a test's stand-in such as
   * native.socketPair()). offloadFlags: the TUN_F_* flags in effect when the fd carries
   * virtio headers, undefined when it does not; gro/groUdp as in LinuxTunOptions. The fd
   * is closed by close().
   */
  static fromFd(o: { fd: number; name: string; mtu: number; offloadFlags?: number; gro?: boolean; groUdp?: boolean; native?: NativeBinding }): LinuxTun {
    const native = loadNative(o.native);
    let state: OffloadState | undefined;
    if (o.offloadFlags !== undefined) {
      const stats = new Float64Array(TUN_STATS.length);
      const coalesce = coalesceBits(o);
      state = { handle: native.tunOffloadNew(o.offloadFlags, stats, o.mtu, coalesce), stats, flags: o.offloadFlags, coalesce };
    }
    return new LinuxTun(native, o.fd, o.name, o.mtu, state);
  }

  read(batch: PacketBatch): number {
    if (this.#fd < 0) return 0;
    const o = this.#offload;
    if (o === undefined) return this.#native.tunRead(this.#fd, batch.native(this.#native), batch.capacity);
    const n = this.#native.tunRead(this.#fd, batch.native(this.#native), batch.capacity, o.handle);
    const dropped = o.stats[TUN_STAT_DROPPED]!;
    if (dropped !== this.#seenDrops) {
      batch.readDrops += dropped - this.#seenDrops;
      this.#seenDrops = dropped;
    }
    if (o.stats[TUN_STAT_PENDING]! > 0) this.#kick.check();
    return n;
  }

  write(batch: PacketBatch, n: number): number {
    if (this.#fd < 0) return 0;
    const finished = this.#finished;
    const before = finished[0]!;
    const written = this.#native.tunWrite(this.#fd, batch.native(this.#native), n, VERDICT_TUN, this.#offload?.handle, finished, this.mtu);
    if (finished[0] !== before) batch.checksumsFinished += finished[0]! - before;
    return written;
  }

  onReadable(cb: () => void): void {
    if (this.#fd < 0) return;
    if (this.#poll !== undefined) this.#native.pollStop(this.#poll);
    this.#poll = this.#native.pollStart(this.#fd, cb);
    const poll = this.#poll;
    this.#kick.arm = () => this.#native.pollKick(poll);
  }

  /**
   * Counters of the offload paths (TUN_STATS names). Without virtio headers only
   * oversizeTcp: the oversize TCP packets the addon cut itself (there is no kernel to ask).
   */
  offloadStats(): OffloadStats | undefined {
    if (this.#offload === undefined) return { oversizeTcp: this.#finished[1]! };
    return statsObject(TUN_STATS, this.#offload.stats);
  }

  close(): void {
    if (this.#fd < 0) return;
    if (this.#poll !== undefined) this.#native.pollStop(this.#poll);
    this.#poll = undefined;
    this.#kick.arm = undefined;
    this.#native.close(this.#fd);
    this.#fd = -1;
  }
}
