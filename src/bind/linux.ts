// SPDX-License-Identifier: Apache-2.0
/**
 * LinuxBind: the real UDP side, through the addon.
 *
 * Design note. Receiving uses an ordinary UDP socket bound to the VXLAN port, drained
 * with recvmmsg. Sending uses a raw IPv4 socket with the header included: a UDP socket
 * would fix the outer source port to 8472 and set DF, while the kernel's VXLAN sends from
 * a per-flow hashed port with DF clear, which ECMP and RSS rely on. With the header in our
 * hands we write exactly what the kernel writes (DF clear, TTL 64, ECN from the inner
 * packet, a real UDP checksum or zero) and still send a whole batch with one sendmmsg.
 *
 * Offloads (docs/offloads.md has the measurements):
 * - options.gro: UDP_GRO on the receive socket lets the kernel hand over runs of
 *   same-4-tuple datagrams (one inner flow: one outer source port) as one message; the
 *   addon splits them back into one slot per datagram. A kernel without UDP_GRO falls
 *   back to plain recvmmsg.
 * - options.gso: runs of one flow's datagrams (a TCP super-packet cut by the TUN side)
 *   go out in one sendmsg with UDP_SEGMENT from a UDP socket bound to that flow's source
 *   port (an LRU of them), DF clear and TTL as the raw path; single datagrams, ports held
 *   by another socket and kernels refusing UDP GSO take the raw path. Needs udpChecksum
 *   (UDP GSO always checksums).
 * `offloads` lists what is in effect ('udp-gro', 'udp-gso').
 */
import type { Bind } from './bind.js';
import type { PacketBatch } from '../dataplane/batch.js';
import { VERDICT_UDP } from '../dataplane/batch.js';
import type { NativeBinding, NativePoll, NativeUdpGro, NativeUdpGso, SendOptions } from '../native/binding.js';
import { loadNative } from '../native/load.js';
import {
  PendingKick, statsObject, UDP_GRO_STATS, UDP_GSO_STATS, UDP_STAT_PENDING, type OffloadReporter, type OffloadStats,
} from '../dataplane/offload.js';

/** UDP_GRO and UDP GSO are on unless turned off (`vxtun run --no-offload`). */
export const DEFAULT_UDP_GRO = true;
export const DEFAULT_UDP_GSO = true;

export interface LinuxBindOptions {
  /** UDP port to receive on and send to (8472). */
  port: number;
  /** Address to bind the receive socket to (uint32; 0 = any, as the kernel's vxlan socket). */
  bindIp?: number;
  /** Outer source address of what we send: our PublicIP (uint32). */
  srcIp: number;
  /** Outer TTL (default 64). */
  ttl?: number;
  /** Compute outer UDP checksums (default true, as current kernels do). */
  udpChecksum?: boolean;
  /** Socket buffer sizes (default 16 MiB receive, 4 MiB send). */
  rcvbuf?: number;
  sndbuf?: number;
  /** Turn UDP_GRO on for the receive socket (default DEFAULT_UDP_GRO). */
  gro?: boolean;
  /** Send runs with UDP_SEGMENT (default DEFAULT_UDP_GSO; ignored without udpChecksum). */
  gso?: boolean;
  native?: NativeBinding;
}

interface Counted<H> { handle: H; stats: Float64Array }

export class LinuxBind implements Bind, OffloadReporter {
  readonly port: number;
  readonly offloads: readonly string[];
  readonly #native: NativeBinding;
  readonly #send: SendOptions;
  readonly #gro: Counted<NativeUdpGro> | undefined;
  readonly #gso: Counted<NativeUdpGso> | undefined;
  readonly #kick: PendingKick;
  #udpFd: number;
  #rawFd: number;
  #poll: NativePoll | undefined;

  private constructor(native: NativeBinding, udpFd: number, rawFd: number, port: number, send: SendOptions,
    gro: Counted<NativeUdpGro> | undefined, gso: Counted<NativeUdpGso> | undefined) {
    this.#native = native;
    this.#udpFd = udpFd;
    this.#rawFd = rawFd;
    this.port = port;
    this.#send = send;
    this.#gro = gro;
    this.#gso = gso;
    this.offloads = [...(gro ? ['udp-gro'] : []), ...(gso ? ['udp-gso'] : [])];
    this.#kick = new PendingKick(() => (this.#gro?.stats[UDP_STAT_PENDING] ?? 0) > 0);
  }

  /** Opens the sockets. Throws the addon's error (EADDRINUSE names the port) on failure. */
  static open(options: LinuxBindOptions): LinuxBind {
    const native = loadNative(options.native);
    // 16 MiB absorbs ~75 ms of small datagrams at 300 kpps (an event-loop or GC stall) before UdpRcvbufErrors.
    const rcvbuf = options.rcvbuf ?? 16 << 20;
    const sndbuf = options.sndbuf ?? 4 << 20;
    const send: SendOptions = { srcIp: options.srcIp >>> 0, dstPort: options.port, ttl: options.ttl ?? 64, udpChecksum: options.udpChecksum ?? true };
    const udpFd = native.udpOpen(options.bindIp ?? 0, options.port, rcvbuf, sndbuf);
    let rawFd: number;
    let gro: Counted<NativeUdpGro> | undefined;
    let gso: Counted<NativeUdpGso> | undefined;
    try {
      if ((options.gro ?? DEFAULT_UDP_GRO) && native.udpSetGro(udpFd, true)) {
        const stats = new Float64Array(UDP_GRO_STATS.length);
        gro = { handle: native.udpGroNew(stats), stats };
      }
      rawFd = native.rawOpen(sndbuf);
    } catch (err) {
      native.close(udpFd);
      throw err;
    }
    if ((options.gso ?? DEFAULT_UDP_GSO) && send.udpChecksum && send.srcIp !== 0) {
      const stats = new Float64Array(UDP_GSO_STATS.length);
      gso = { handle: native.udpGsoNew({ srcIp: send.srcIp, ttl: send.ttl }, stats), stats };
    }
    return new LinuxBind(native, udpFd, rawFd, options.port, send, gro, gso);
  }

  receive(batch: PacketBatch): number {
    if (this.#udpFd < 0) return 0;
    const g = this.#gro;
    if (g === undefined) return this.#native.udpRecv(this.#udpFd, batch.native(this.#native), batch.capacity);
    const n = this.#native.udpRecv(this.#udpFd, batch.native(this.#native), batch.capacity, g.handle);
    if (g.stats[UDP_STAT_PENDING]! > 0) this.#kick.check();
    return n;
  }

  send(batch: PacketBatch, n: number): number {
    if (this.#rawFd < 0) return 0;
    return this.#native.udpSend(this.#rawFd, batch.native(this.#native), n, VERDICT_UDP, this.#send, this.#gso?.handle);
  }

  onReadable(cb: () => void): void {
    if (this.#udpFd < 0) return;
    if (this.#poll !== undefined) this.#native.pollStop(this.#poll);
    this.#poll = this.#native.pollStart(this.#udpFd, cb);
    const poll = this.#poll;
    this.#kick.arm = () => this.#native.pollKick(poll);
  }

  /** Counters of the offload paths ({gro, gso} by UDP_GRO_STATS/UDP_GSO_STATS names), or undefined when both are off. */
  offloadStats(): OffloadStats | undefined {
    if (this.#gro === undefined && this.#gso === undefined) return undefined;
    const out: OffloadStats = {};
    if (this.#gro) for (const [k, v] of Object.entries(statsObject(UDP_GRO_STATS, this.#gro.stats))) out[`gro.${k}`] = v;
    if (this.#gso) for (const [k, v] of Object.entries(statsObject(UDP_GSO_STATS, this.#gso.stats))) out[`gso.${k}`] = v;
    return out;
  }

  close(): void {
    if (this.#udpFd < 0) return;
    if (this.#poll !== undefined) this.#native.pollStop(this.#poll);
    this.#poll = undefined;
    this.#kick.arm = undefined;
    if (this.#gso !== undefined) this.#native.udpGsoClose(this.#gso.handle);
    this.#native.close(this.#udpFd);
    this.#native.close(this.#rawFd);
    this.#udpFd = -1;
    this.#rawFd = -1;
  }
}
