// SPDX-License-Identifier: Apache-2.0
/**
 * Drop reasons: every packet vxtun refuses is refused for one of these, counted by
 * reason, and named by it in status, metrics and tests. Codecs return the numeric code
 * (no allocation on the hot path); DROP_REASONS[code] is the name. 0 means "accepted".
 */
export const DROP_REASONS = [
  'ok',
  // header decoding (codecs)
  'truncated',          // fewer bytes than the header (or the length it claims) needs
  'bad-flags',          // VXLAN I flag missing, or another flag bit set (Linux drops these)
  'reserved-bits',      // VXLAN reserved bytes not zero (Linux drops these; RFC 7348 would ignore)
  'wrong-vni',          // VNI is not ours
  'wrong-dst-mac',      // inner destination MAC is not our VtepMAC (kernel: PACKET_OTHERHOST)
  'own-src-mac',        // inner source MAC is our own VtepMAC (kernel: loop)
  'bad-src-mac',        // inner source MAC is multicast/broadcast or zero
  'not-ipv4',           // ethertype (or IP version) is not IPv4
  'bad-ihl',            // IPv4 IHL < 5 or header longer than the packet
  'bad-total-length',   // IPv4 total length < header or > bytes present
  'bad-header-checksum',// IPv4 header checksum wrong
  'bad-udp-length',     // UDP length field inconsistent with the datagram
  // dataplane policy
  'oversize',           // datagram or packet larger than a slot
  'unknown-peer',       // VXLAN from an address that holds no lease (source validation)
  'spoofed-source',     // inner source outside the sending peer's subnet (source validation)
  'no-lease',           // TUN packet to an address inside Network that no lease covers (ICMP sent)
  'not-in-network',     // TUN packet to an address outside the cluster Network
  'ttl-exceeded',       // reserved for paths that decrement TTL
  'send-failed',        // the kernel refused the datagram (socket buffer full, no route)
  'tun-write-failed',   // the kernel refused the packet written to the TUN
  'bad-gso',            // TUN packet with a malformed virtio_net_hdr (offloads: GSO type, lengths, offsets)
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

/** Numeric code of a reason (index in DROP_REASONS). */
export const Drop = Object.fromEntries(DROP_REASONS.map((r, i) => [r, i])) as { readonly [K in DropReason]: number };

export const DROP_REASON_COUNT = DROP_REASONS.length;

/** The name for a numeric code. */
export function dropReasonName(code: number): DropReason {
  const name = DROP_REASONS[code];
  if (name === undefined) throw new RangeError(`unknown drop reason code ${code}`);
  return name;
}
