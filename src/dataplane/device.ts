// SPDX-License-Identifier: Apache-2.0
/**
 * Device joins a Tun, a Bind and a SubnetTable into a VTEP (wireguard-go's shape:
 * NewDevice(tun, bind)). It owns two batches for its whole life:
 *
 *   Tun ──read──▶ [tx batch] ──Encapsulator──▶ Bind.send      (ICMP errors ──▶ Tun.write)
 *   Bind ─receive▶ [rx batch] ──Decapsulator──▶ Tun.write
 *
 * Each readiness callback drains at most config.maxBatchesPerWake batches, then yields to
 * the event loop; the poll is level-triggered, so pending packets call back at once on the
 * next loop turn while timers and control-plane work get their turn. The control plane
 * changes forwarding only through the SubnetTable.
 *
 * Offloads (docs/offloads.md) live below the seams: the Linux Tun cuts TCP super-packets
 * into segments on read and coalesces runs on write, the Linux Bind splits UDP_GRO
 * messages and sends runs with UDP_SEGMENT, so these loops only ever see ordinary
 * packets. What they report shows in offloads()/offloadStats(); packets a seam discarded
 * while reading (batch.readDrops) are counted here as 'bad-gso', and partial checksums
 * the Tun's write finished (batch.checksumsFinished) as counters.checksumsFinished.
 */
import type { Tun } from '../tun/tun.js';
import type { Bind } from '../bind/bind.js';
import { PacketBatch, DEFAULT_HEADROOM } from './batch.js';
import type { DeviceConfig } from './config.js';
import { DeviceCounters } from './counters.js';
import { SubnetTable } from './table.js';
import { Encapsulator } from './encap.js';
import { Decapsulator } from './decap.js';
import { FlowPortHasher } from './flow-hash.js';
import { Drop } from '../packet/drop.js';
import { offloadsOf, offloadStatsOf, type OffloadStats } from './offload.js';

/** Largest datagram the receive side accepts whole (a kernel peer with GSO may send up to 64 KB). */
const MAX_DATAGRAM = 65535;

export interface DeviceOptions {
  tun: Tun;
  bind: Bind;
  table: SubnetTable;
  config: DeviceConfig;
  /** Source-port hasher (its range comes from net.ipv4.ip_local_port_range). */
  hasher?: FlowPortHasher;
  /** Called once per batch with the batch and how many packets it holds, after processing (capture hooks). */
  onEncap?: (batch: PacketBatch, n: number) => void;
  onDecap?: (batch: PacketBatch, n: number) => void;
}

export class Device {
  readonly tun: Tun;
  readonly bind: Bind;
  readonly table: SubnetTable;
  readonly config: DeviceConfig;
  readonly counters = new DeviceCounters();
  readonly startedAt = Date.now();
  readonly #tx: PacketBatch;
  readonly #rx: PacketBatch;
  readonly #encap: Encapsulator;
  readonly #decap: Decapsulator;
  #onEncap: ((batch: PacketBatch, n: number) => void) | undefined;
  #onDecap: ((batch: PacketBatch, n: number) => void) | undefined;
  #running = false;

  constructor(options: DeviceOptions) {
    this.tun = options.tun;
    this.bind = options.bind;
    this.table = options.table;
    this.config = options.config;
    // A TUN read longer than the slot would be cut short: size the slot one byte past the
    // MTU so a full slot (len == maxPacket) can only mean "too long".
    this.#tx = new PacketBatch(options.config.batchSize, Math.max(this.tun.mtu + 1, 576), DEFAULT_HEADROOM);
    this.#rx = new PacketBatch(options.config.batchSize, MAX_DATAGRAM, DEFAULT_HEADROOM);
    this.#encap = new Encapsulator(options.config, options.table, this.counters, options.hasher);
    this.#decap = new Decapsulator(options.config, options.table, this.counters, this.tun.mtu);
    this.#onEncap = options.onEncap;
    this.#onDecap = options.onDecap;
  }

  /** Starts forwarding: registers the readiness callbacks. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.tun.onReadable(() => this.pumpTun());
    this.bind.onReadable(() => this.pumpBind());
  }

  /** Sets (or clears) the per-batch observers used by capture. */
  setObservers(onEncap?: (batch: PacketBatch, n: number) => void, onDecap?: (batch: PacketBatch, n: number) => void): void {
    this.#onEncap = onEncap;
    this.#onDecap = onDecap;
  }

  /** Drains the TUN: up to maxBatchesPerWake batches. Returns packets read. */
  pumpTun(): number {
    if (!this.#running) return 0;
    const batch = this.#tx;
    const counters = this.counters;
    let total = 0;
    for (let round = 0; round < this.config.maxBatchesPerWake; round++) {
      const n = this.tun.read(batch);
      if (batch.readDrops > 0) { counters.drops[Drop['bad-gso']]! += batch.readDrops; batch.readDrops = 0; }
      if (n === 0) break;
      total += n;
      const r = this.#encap.run(batch, n);
      if (r.udp > 0) {
        const sent = this.bind.send(batch, n);
        counters.udpTxPackets += sent;
        if (sent < r.udp) counters.drops[Drop['send-failed']]! += r.udp - sent;
        if (sent > 0) this.#countSentBytes(batch, n, sent);
      }
      if (r.tun > 0) {
        const written = this.tun.write(batch, n);
        if (batch.checksumsFinished > 0) { counters.checksumsFinished += batch.checksumsFinished; batch.checksumsFinished = 0; }
        if (written < r.tun) counters.drops[Drop['tun-write-failed']]! += r.tun - written;
      }
      if (this.#onEncap !== undefined) this.#onEncap(batch, n);
      if (n < batch.capacity) break;
    }
    return total;
  }

  /** Drains the UDP socket: up to maxBatchesPerWake batches. Returns datagrams received. */
  pumpBind(): number {
    if (!this.#running) return 0;
    const batch = this.#rx;
    const counters = this.counters;
    const now = Date.now();
    let total = 0;
    for (let round = 0; round < this.config.maxBatchesPerWake; round++) {
      const n = this.bind.receive(batch);
      if (n === 0) break;
      total += n;
      const accepted = this.#decap.run(batch, n, now);
      if (accepted > 0) {
        const written = this.tun.write(batch, n);
        if (batch.checksumsFinished > 0) { counters.checksumsFinished += batch.checksumsFinished; batch.checksumsFinished = 0; }
        counters.tunTxPackets += written;
        if (written < accepted) counters.drops[Drop['tun-write-failed']]! += accepted - written;
        this.#countTunBytes(batch, n);
      }
      if (this.#onDecap !== undefined) this.#onDecap(batch, n);
      if (n < batch.capacity) break;
    }
    return total;
  }

  /** Offloads in effect on the seams (e.g. ['csum', 'tso4', 'tso6', 'gro', 'udp-gro']); [] for in-memory seams. */
  offloads(): string[] {
    return [...offloadsOf(this.tun), ...offloadsOf(this.bind)];
  }

  /** Counters of the offload paths, per seam (absent when a seam has offloads off). */
  offloadStats(): { tun?: OffloadStats; bind?: OffloadStats } {
    const tun = offloadStatsOf(this.tun);
    const bind = offloadStatsOf(this.bind);
    return { ...(tun !== undefined ? { tun } : {}), ...(bind !== undefined ? { bind } : {}) };
  }

  /** Stops forwarding and closes both seams. */
  close(): void {
    this.#running = false;
    this.tun.close();
    this.bind.close();
  }

  /** Bytes of the first `sent` UDP-verdict packets (a short send stops at the first refusal). */
  #countSentBytes(batch: PacketBatch, n: number, sent: number): void {
    let bytes = 0;
    for (let i = 0; i < n && sent > 0; i++) {
      if (batch.verdict[i] === 1) { bytes += batch.len[i]!; sent--; }
    }
    this.counters.udpTxBytes += bytes;
  }

  #countTunBytes(batch: PacketBatch, n: number): void {
    let bytes = 0;
    for (let i = 0; i < n; i++) if (batch.verdict[i] === 2) bytes += batch.len[i]!;
    this.counters.tunTxBytes += bytes;
  }
}
