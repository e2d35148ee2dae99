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

  /** Port for the IPv4 packet at [off, off+len) of `view` (len >= 20 and version 4 checked by the caller). */
  portFor(view: DataView, off: number, len: number): number {
    const src = view.getInt32(off + 12);
    const dst = view.getInt32(off + 16);
    const proto = view.getUint8(off + 9);
    let ports = 0;
    const fragment = (view.getUint16(off + 6) & 0x3fff) !== 0; // MF or offset != 0
    if (!fragment && (proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP || proto === PROTO_UDPLITE)) {
      const l4 = off + (view.getUint8(off) & 0x0f) * 4;
      if (l4 + 4 <= off + len) {
        const p = view.getInt32(l4);
        // Order the ports with the addresses so both directions hash alike.
        ports = (src >>> 0) < (dst >>> 0) ? p : (p << 16) | (p >>> 16);
      }
    }
    const srcFirst = (src >>> 0) < (dst >>> 0);
    let h = this.#seed ^ proto;
    h = mix(h, srcFirst ? src : dst);
    h = mix(h, srcFirst ? dst : src);
    h = mix(h, ports);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return this.min + Math.floor(((h >>> 0) * this.#span) / 4294967296);
  }
}

/** One murmur3-style round. */
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
