// SPDX-License-Identifier: Apache-2.0
/**
 * MemoryNetwork and MemoryBind: an in-memory underlay for unit tests and micro benches
 * (wireguard-go's bindtest). Each bind is attached at an IPv4 address; send() delivers the
 * payload of every UDP-verdict packet to the bind attached at addr[i], with the sender's
 * address and port[i] as the source, and records what a capture of the outer headers
 * would show (destination, source port, TOS).
 */
import type { Bind } from './bind.js';
import type { PacketBatch } from '../dataplane/batch.js';
import { VERDICT_UDP } from '../dataplane/batch.js';
import { Readiness } from '../dataplane/readiness.js';

/** One datagram as the underlay carried it. */
export interface MemoryDatagram {
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  tos: number;
  payload: Buffer;
}

export class MemoryNetwork {
  readonly #binds = new Map<number, MemoryBind>();
  /** Every datagram carried, oldest first (a capture of the wire). */
  readonly wire: MemoryDatagram[] = [];
  /** Keep at most this many datagrams in `wire`. */
  wireLimit = 10_000;

  /** A bind at `ip` (uint32) receiving on `port`. */
  attach(ip: number, port = 8472): MemoryBind {
    const bind = new MemoryBind(this, ip >>> 0, port);
    this.#binds.set(ip >>> 0, bind);
    return bind;
  }

  detach(bind: MemoryBind): void {
    if (this.#binds.get(bind.ip) === bind) this.#binds.delete(bind.ip);
  }

  /** Delivers a datagram to whoever is attached at d.dst (dropped when nobody is). */
  deliver(d: MemoryDatagram): void {
    if (this.wire.length < this.wireLimit) this.wire.push(d);
    const to = this.#binds.get(d.dst >>> 0);
    if (to !== undefined && to.port === d.dstPort) to.enqueue(d);
  }
}

export class MemoryBind implements Bind {
  readonly ip: number;
  readonly port: number;
  readonly #net: MemoryNetwork;
  #inbound: MemoryDatagram[] = [];
  readonly #ready = new Readiness();
  #closed = false;

  constructor(net: MemoryNetwork, ip: number, port: number) {
    this.#net = net;
    this.ip = ip;
    this.port = port;
  }

  /** Queues a datagram as if it had arrived from the network (tests use it to inject hostile input). */
  enqueue(d: MemoryDatagram): void {
    if (this.#closed) return;
    this.#inbound.push(d);
    this.#ready.notify();
  }

  receive(batch: PacketBatch): number {
    if (this.#closed) return 0;
    let n = 0;
    while (n < batch.capacity && this.#inbound.length > 0) {
      const d = this.#inbound.shift()!;
      if (d.payload.length > batch.maxPacket) {
        // Like recvmmsg with MSG_TRUNC: the slot holds what fits, len keeps the real size.
        batch.fill(n, d.payload.subarray(0, batch.maxPacket), d.src, d.srcPort);
        batch.len[n] = d.payload.length;
      } else {
        batch.fill(n, d.payload, d.src, d.srcPort);
      }
      n++;
    }
    if (this.#inbound.length > 0) this.#ready.notify();
    return n;
  }

  send(batch: PacketBatch, n: number): number {
    if (this.#closed) return 0;
    let sent = 0;
    for (let i = 0; i < n; i++) {
      if (batch.verdict[i] !== VERDICT_UDP) continue;
      this.#net.deliver({ src: this.ip, dst: batch.addr[i]!, srcPort: batch.port[i]!, dstPort: this.port, tos: batch.tos[i]!, payload: batch.packet(i) });
      sent++;
    }
    return sent;
  }

  onReadable(cb: () => void): void {
    this.#ready.set(cb, this.#inbound.length > 0);
  }

  close(): void {
    this.#closed = true;
    this.#inbound = [];
    this.#ready.close();
    this.#net.detach(this);
  }

}
