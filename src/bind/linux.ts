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
 * The price: no UDP GSO on this socket (the offload work in issue 5 revisits it).
 */
import type { Bind } from './bind.js';
import type { PacketBatch } from '../dataplane/batch.js';
import { VERDICT_UDP } from '../dataplane/batch.js';
import type { NativeBinding, NativePoll, SendOptions } from '../native/binding.js';
import { loadNative } from '../native/load.js';

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
  /** Socket buffer sizes (default 4 MiB each). */
  rcvbuf?: number;
  sndbuf?: number;
  native?: NativeBinding;
}

export class LinuxBind implements Bind {
  readonly port: number;
  readonly #native: NativeBinding;
  readonly #send: SendOptions;
  #udpFd: number;
  #rawFd: number;
  #poll: NativePoll | undefined;

  private constructor(native: NativeBinding, udpFd: number, rawFd: number, port: number, send: SendOptions) {
    this.#native = native;
    this.#udpFd = udpFd;
    this.#rawFd = rawFd;
    this.port = port;
    this.#send = send;
  }

  /** Opens both sockets. Throws the addon's error (EADDRINUSE names the port) on failure. */
  static open(options: LinuxBindOptions): LinuxBind {
    const native = loadNative(options.native);
    const rcvbuf = options.rcvbuf ?? 4 << 20;
    const sndbuf = options.sndbuf ?? 4 << 20;
    const udpFd = native.udpOpen(options.bindIp ?? 0, options.port, rcvbuf, sndbuf);
    let rawFd: number;
    try {
      rawFd = native.rawOpen(sndbuf);
    } catch (err) {
      native.close(udpFd);
      throw err;
    }
    const send: SendOptions = { srcIp: options.srcIp >>> 0, dstPort: options.port, ttl: options.ttl ?? 64, udpChecksum: options.udpChecksum ?? true };
    return new LinuxBind(native, udpFd, rawFd, options.port, send);
  }

  receive(batch: PacketBatch): number {
    if (this.#udpFd < 0) return 0;
    return this.#native.udpRecv(this.#udpFd, batch.native(this.#native), batch.capacity);
  }

  send(batch: PacketBatch, n: number): number {
    if (this.#rawFd < 0) return 0;
    return this.#native.udpSend(this.#rawFd, batch.native(this.#native), n, VERDICT_UDP, this.#send);
  }

  onReadable(cb: () => void): void {
    if (this.#udpFd < 0) return;
    if (this.#poll !== undefined) this.#native.pollStop(this.#poll);
    this.#poll = this.#native.pollStart(this.#udpFd, cb);
  }

  close(): void {
    if (this.#udpFd < 0) return;
    if (this.#poll !== undefined) this.#native.pollStop(this.#poll);
    this.#poll = undefined;
    this.#native.close(this.#udpFd);
    this.#native.close(this.#rawFd);
    this.#udpFd = -1;
    this.#rawFd = -1;
  }
}
