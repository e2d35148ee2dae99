// SPDX-License-Identifier: Apache-2.0
/**
 * Live capture of what the Device encapsulates and decapsulates, as pcap, for
 * `vxtun capture`. A CaptureHub installs the Device's per-batch observers only while at
 * least one session is active (no cost otherwise) and clears them when the last one ends.
 *
 * Per observed batch (the slow path, only while capturing):
 *   encap: packets with verdict UDP; bytes [off, off+len) are the VXLAN payload as sent
 *          (VXLAN header, inner Ethernet, inner IPv4 at off+22);
 *   decap: packets with verdict TUN; the accepted inner IPv4 packet is [off, off+len) and
 *          the VXLAN header + inner Ethernet sit in the 22 bytes before it.
 * Outer mode (LINKTYPE_ETHERNET) rebuilds the outer headers from the batch descriptors,
 * never from bytes the addon may have left in the headroom:
 *   | Ethernet (placeholder MACs) | IPv4 (DF clear, TTL 64, proto 17) | UDP (checksum) | VXLAN payload |
 *   encap: our ifaceAddr:port[i] → addr[i]:our port;  decap: addr[i]:port[i] → our ifaceAddr:our port.
 * Inner mode (LINKTYPE_RAW) writes the inner IPv4 packet only.
 *
 * Each captured packet is copied once into a pcap record. A session never blocks the
 * hot path: when its sink already buffers more than maxBufferedBytes, packets are dropped
 * and counted (reported when the session ends and in status).
 */
import type { Device } from '../dataplane/device.js';
import type { PacketBatch } from '../dataplane/batch.js';
import { VERDICT_TUN, VERDICT_UDP } from '../dataplane/batch.js';
import { ENCAP_PREFIX } from '../dataplane/encap.js';
import { encodeGlobalHeader, LINKTYPE_ETHERNET, LINKTYPE_RAW, PCAP_DEFAULT_SNAPLEN } from '../pcap/format.js';
import { encodeRecord, nowMicros } from '../pcap/writer.js';
import { OUTER_DEFAULT_DST_MAC, OUTER_DEFAULT_SRC_MAC } from '../pcap/outer.js';
import { ETH_HEADER_LEN, parseMac, writeEthernet, ETHERTYPE_IPV4 } from '../packet/ethernet.js';
import { IPPROTO_UDP, IPV4_MIN_HEADER_LEN, writeIpv4Header } from '../packet/ipv4.js';
import { fillUdpChecksumIPv4, UDP_HEADER_LEN, writeUdpHeader } from '../packet/udp.js';
import { readU32 } from '../packet/bytes.js';

export type CaptureMode = 'outer' | 'inner';

/** Where a session's pcap bytes go (a net.Socket in the daemon; a fake in tests). */
export interface CaptureSink {
  write(chunk: Buffer): boolean;
  readonly writableLength: number;
  end(): void;
}

export interface CaptureSpec {
  mode: CaptureMode;
  /** Stop after this many captured packets (undefined: until the client goes). */
  count?: number;
  /** Keep packets whose inner source or destination is inside network/prefixLen (uint32). */
  filter?: { network: number; prefixLen: number };
}

/** Why a session ended. */
export type CaptureEndReason = 'count' | 'client-gone' | 'shutdown';

export interface CaptureSummary { mode: CaptureMode; captured: number; dropped: number; reason: CaptureEndReason }

/** The local end of the tunnel, for the outer headers. */
export interface CaptureLocal { ifaceAddr: number; port: number }

const SRC_MAC = parseMac(OUTER_DEFAULT_SRC_MAC);
const DST_MAC = parseMac(OUTER_DEFAULT_DST_MAC);
const OUTER_HEADERS = ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN + UDP_HEADER_LEN;
/** Default per-session buffer limit before packets are dropped. */
export const DEFAULT_MAX_BUFFERED = 4 * 1024 * 1024;

/**
 * outerFrame returns a new Ethernet frame carrying `payload` (a VXLAN UDP payload) in
 * IPv4/UDP from src:sport to dst:dport, as a kernel VTEP sends it (DF clear, TTL 64, ID 0,
 * TOS `tos`, a valid UDP checksum).
 */
export function outerFrame(payload: Uint8Array, src: number, dst: number, sport: number, dport: number, tos = 0): Buffer {
  const f = Buffer.alloc(OUTER_HEADERS + payload.length);
  writeEthernet(f, 0, { dst: DST_MAC, src: SRC_MAC, type: ETHERTYPE_IPV4 });
  const ip = ETH_HEADER_LEN;
  const udp = ip + IPV4_MIN_HEADER_LEN;
  writeIpv4Header(f, ip, { tos, totalLength: IPV4_MIN_HEADER_LEN + UDP_HEADER_LEN + payload.length, id: 0, df: false, ttl: 64, protocol: IPPROTO_UDP, src, dst });
  writeUdpHeader(f, udp, { srcPort: sport, dstPort: dport, length: UDP_HEADER_LEN + payload.length });
  f.set(payload, OUTER_HEADERS);
  fillUdpChecksumIPv4(f, udp, src, dst);
  return f;
}

/** One client's capture. */
export class CaptureSession {
  readonly spec: CaptureSpec;
  readonly linkType: number;
  captured = 0;
  dropped = 0;
  #done = false;
  readonly #sink: CaptureSink;
  readonly #max: number;
  readonly #mask: number;
  readonly #net: number;
  readonly #onFull: (s: CaptureSession) => void;

  /** @internal created by CaptureHub.start(). Writes the pcap global header at once. */
  constructor(spec: CaptureSpec, sink: CaptureSink, maxBuffered: number, onFull: (s: CaptureSession) => void) {
    this.spec = spec;
    this.#sink = sink;
    this.#max = maxBuffered;
    this.#onFull = onFull;
    this.linkType = spec.mode === 'outer' ? LINKTYPE_ETHERNET : LINKTYPE_RAW;
    const len = spec.filter?.prefixLen ?? 0;
    this.#mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    this.#net = ((spec.filter?.network ?? 0) & this.#mask) >>> 0;
    sink.write(encodeGlobalHeader(this.linkType, PCAP_DEFAULT_SNAPLEN));
  }

  get done(): boolean {
    return this.#done;
  }

  /** True when the inner src or dst passes the filter. */
  wants(src: number, dst: number): boolean {
    if (this.#done) return false;
    return ((src & this.#mask) >>> 0) === this.#net || ((dst & this.#mask) >>> 0) === this.#net;
  }

  /** Writes one packet (or counts a drop when the sink is backed up). */
  offer(frame: Uint8Array, ts: number): void {
    if (this.#done) return;
    if (this.#sink.writableLength > this.#max) {
      this.dropped++;
      return;
    }
    this.#sink.write(encodeRecord(frame, ts, undefined, PCAP_DEFAULT_SNAPLEN));
    this.captured++;
    if (this.spec.count !== undefined && this.captured >= this.spec.count) this.#onFull(this);
  }

  /** @internal marks the session finished and ends the sink (optionally). */
  finish(endSink: boolean): void {
    if (this.#done) return;
    this.#done = true;
    if (endSink) this.#sink.end();
  }
}

/**
 * CaptureHub: the capture sessions of one Device. start() adds a session (installing the
 * observers if it is the first); a session ends when its count is reached, when stop()
 * is called (client gone) or on close(). onEnd runs once per session with its summary.
 */
export class CaptureHub {
  readonly #device: Device;
  readonly #local: CaptureLocal;
  readonly #maxBuffered: number;
  readonly #sessions = new Map<CaptureSession, (s: CaptureSummary) => void>();
  /** Totals over every session so far (status). */
  totalCaptured = 0;
  totalDropped = 0;

  constructor(device: Device, local: CaptureLocal, options: { maxBufferedBytes?: number } = {}) {
    this.#device = device;
    this.#local = local;
    this.#maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
  }

  /** Active sessions. */
  get size(): number {
    return this.#sessions.size;
  }

  start(spec: CaptureSpec, sink: CaptureSink, onEnd: (s: CaptureSummary) => void = () => {}): CaptureSession {
    const session = new CaptureSession(spec, sink, this.#maxBuffered, (s) => this.#end(s, 'count', true));
    this.#sessions.set(session, onEnd);
    if (this.#sessions.size === 1) {
      this.#device.setObservers((b, n) => this.#observe(b, n, true), (b, n) => this.#observe(b, n, false));
    }
    return session;
  }

  /** Ends a session whose client went away (its sink is not ended: it is gone). */
  stop(session: CaptureSession): void {
    this.#end(session, 'client-gone', false);
  }

  /** Ends every session (ending their sinks) and removes the observers. */
  close(): void {
    for (const s of [...this.#sessions.keys()]) this.#end(s, 'shutdown', true);
  }

  #end(session: CaptureSession, reason: CaptureEndReason, endSink: boolean): void {
    const onEnd = this.#sessions.get(session);
    if (onEnd === undefined) return;
    this.#sessions.delete(session);
    session.finish(endSink);
    this.totalCaptured += session.captured;
    this.totalDropped += session.dropped;
    if (this.#sessions.size === 0) this.#device.setObservers(undefined, undefined);
    onEnd({ mode: session.spec.mode, captured: session.captured, dropped: session.dropped, reason });
  }

  /** Runs once per batch while capturing; copies matching packets into each session. */
  #observe(batch: PacketBatch, n: number, encap: boolean): void {
    const want = encap ? VERDICT_UDP : VERDICT_TUN;
    const b = batch.bytes;
    const ts = nowMicros();
    const local = this.#local;
    for (let i = 0; i < n; i++) {
      if (batch.verdict[i] !== want) continue;
      const off = batch.off[i]!;
      const len = batch.len[i]!;
      const vx = encap ? off : off - ENCAP_PREFIX; // start of the VXLAN header
      const inner = vx + ENCAP_PREFIX;
      const end = off + len;
      if (vx < 0 || end - inner < IPV4_MIN_HEADER_LEN) continue;
      const src = readU32(b, inner + 12);
      const dst = readU32(b, inner + 16);
      let outer: Buffer | undefined;
      let raw: Buffer | undefined;
      for (const s of this.#sessions.keys()) {
        if (!s.wants(src, dst)) continue;
        let frame: Buffer;
        if (s.spec.mode === 'outer') {
          outer ??= encap
            ? outerFrame(b.subarray(vx, end), local.ifaceAddr, batch.addr[i]!, batch.port[i]!, local.port, batch.tos[i]!)
            : outerFrame(b.subarray(vx, end), batch.addr[i]!, local.ifaceAddr, batch.port[i]!, local.port, 0);
          frame = outer;
        } else {
          raw ??= Buffer.from(b.subarray(inner, end));
          frame = raw;
        }
        try {
          s.offer(frame, ts);
        } catch {
          this.#end(s, 'client-gone', false); // a broken sink must never break forwarding
        }
      }
    }
  }
}
