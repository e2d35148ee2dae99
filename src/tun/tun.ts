// SPDX-License-Identifier: Apache-2.0
import type { PacketBatch } from '../dataplane/batch.js';

/**
 * A Tun is the layer-3 device the kernel routes overlay traffic into: every packet it
 * yields is one bare IPv4 packet (IFF_TUN | IFF_NO_PI), and every packet written to it is
 * handed to the kernel as if received on that interface.
 *
 * Contract:
 * - read(batch) fills slots 0..n-1 of `batch` (each at its slot start + headroom, off/len
 *   set) with up to batch.capacity pending packets and returns n; 0 means nothing is
 *   pending. It never blocks. A packet longer than the slot is dropped by the device.
 * - write(batch, n) writes every packet i < n whose verdict is VERDICT_TUN and returns
 *   how many the kernel accepted; a refused packet is not an exception. A write that hands
 *   packets to a kernel first finishes any TCP/UDP checksum a sender left as a partial
 *   (pseudo-header) sum, which the kernel would otherwise drop, and adds how many it
 *   finished to batch.checksumsFinished.
 * - onReadable(cb) registers the one callback run (on the event loop) whenever packets
 *   may be pending; spurious calls are allowed, so cb must tolerate read() returning 0.
 * - After close(), read() returns 0, write() returns 0 and no callback fires.
 */
export interface Tun {
  readonly name: string;
  readonly mtu: number;
  read(batch: PacketBatch): number;
  write(batch: PacketBatch, n: number): number;
  onReadable(cb: () => void): void;
  close(): void;
}
