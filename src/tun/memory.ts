// SPDX-License-Identifier: Apache-2.0
/**
 * MemoryTun: an in-memory Tun for unit tests and micro benches (wireguard-go's
 * tuntest.ChannelTUN). inject() queues packets "from the kernel"; everything the Device
 * writes lands in `written` (and is passed to onWrite). Readiness callbacks run on
 * setImmediate, coalesced, like a level-triggered poll.
 */
import type { Tun } from './tun.js';
import type { PacketBatch } from '../dataplane/batch.js';
import { VERDICT_TUN } from '../dataplane/batch.js';
import { Readiness } from '../dataplane/readiness.js';

export class MemoryTun implements Tun {
  readonly name: string;
  readonly mtu: number;
  /** Packets the Device wrote to this device, oldest first. */
  readonly written: Buffer[] = [];
  /** Optional observer of every written packet. */
  onWrite: ((packet: Buffer) => void) | undefined;
  #inbound: Buffer[] = [];
  readonly #ready = new Readiness();
  #closed = false;

  constructor(name = 'mem0', mtu = 1450) {
    this.name = name;
    this.mtu = mtu;
  }

  /** Queues packets as if the kernel had routed them into the device. */
  inject(...packets: Uint8Array[]): void {
    if (this.#closed) return;
    for (const p of packets) this.#inbound.push(Buffer.from(p));
    this.#ready.notify();
  }

  /** Packets queued and not yet read. */
  get pending(): number {
    return this.#inbound.length;
  }

  read(batch: PacketBatch): number {
    if (this.#closed) return 0;
    let n = 0;
    while (n < batch.capacity && this.#inbound.length > 0) {
      const p = this.#inbound.shift()!;
      // Like read(2) on a TUN: a packet longer than the buffer is cut to the buffer.
      batch.fill(n, p.length > batch.maxPacket ? p.subarray(0, batch.maxPacket) : p);
      n++;
    }
    if (this.#inbound.length > 0) this.#ready.notify();
    return n;
  }

  write(batch: PacketBatch, n: number): number {
    if (this.#closed) return 0;
    let w = 0;
    for (let i = 0; i < n; i++) {
      if (batch.verdict[i] !== VERDICT_TUN) continue;
      const p = batch.packet(i);
      this.written.push(p);
      this.onWrite?.(p);
      w++;
    }
    return w;
  }

  onReadable(cb: () => void): void {
    this.#ready.set(cb, this.#inbound.length > 0);
  }

  close(): void {
    this.#closed = true;
    this.#inbound = [];
    this.#ready.close();
  }

}
