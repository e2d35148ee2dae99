// SPDX-License-Identifier: Apache-2.0
/**
 * Outer UDP source port from the inner flow, as the kernel's udp_flow_src_port() does:
 * hash the inner 5-tuple, then scale the hash into [min, max] (net.ipv4.ip_local_port_range,
 * 32768-60999 by default). The same flow always gets the same port (ordering, ECMP, RSS);
 * different flows spread over the range. Like the kernel's flow dissector the hash is
 * symmetric (both directions of a flow hash alike) and uses ports only for unfragmented
 * TCP, UDP, SCTP and UDP-Lite. The exact values differ from the kernel's (its seed is
 * random per boot); receivers never check them.
 */

const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_SCTP = 132;
const PROTO_UDPLITE = 136;

export class FlowPortHasher {
  readonly min: number;
  readonly max: number;
  readonly #span: number;
  readonly #seed: number;

  constructor(min = 32768, max = 60999, seed = (Math.random() * 0x100000000) | 0) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
      throw new RangeError(`source port range ${min}-${max} must satisfy 1 <= min <= max <= 65535`);
    }
    this.min = min;
    this.max = max;
    this.#span = max - min + 1;
    this.#seed = seed | 0;
  }

  /**
   * Port for the IPv4 packet at [off, off+len) of `view` (len >= 20 and version 4 checked by the caller).
   *
   * Four multiply-xorshift rounds (a multiplicative hash, not murmur3's eleven multiplies):
   * the port only has to be stable per flow and spread flows over the range, and this runs
   * once per packet on the encapsulation path.
   */
  portFor(view: DataView, off: number, len: number): number {
    const src = view.getInt32(off + 12);
    const dst = view.getInt32(off + 16);
    const proto = view.getUint8(off + 9);
    // Order (address, port) pairs so both directions of a flow hash alike.
    const srcFirst = (src >>> 0) < (dst >>> 0);
    let ports = 0;
    const fragment = (view.getUint16(off + 6) & 0x3fff) !== 0; // MF or offset != 0
    if (!fragment && (proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP || proto === PROTO_UDPLITE)) {
      const l4 = off + (view.getUint8(off) & 0x0f) * 4;
      if (l4 + 4 <= off + len) {
        const p = view.getInt32(l4);
        ports = srcFirst ? p : (p << 16) | (p >>> 16);
      }
    }
    let h = Math.imul(this.#seed ^ (srcFirst ? src : dst), 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 15) ^ (srcFirst ? dst : src), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13) ^ ports, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 16) ^ proto, 0x27d4eb2f);
    h ^= h >>> 15;
    return this.min + Math.floor(((h >>> 0) * this.#span) / 4294967296);
  }
}
