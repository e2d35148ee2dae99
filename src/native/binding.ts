// SPDX-License-Identifier: Apache-2.0
/**
 * The typed surface of the C++ addon (native/*.cc, built by node-gyp into
 * build/Release/vxtun.node).
 *
 * Conventions shared by every function:
 * - Buffers are caller-owned; the addon never keeps a pointer past the call,
 *   except for a {@link NativeBatch} handle, which holds references to the
 *   batch's arrays for its own lifetime.
 * - Offsets and lengths are validated: a bad one throws a RangeError whose
 *   message names the argument (`offset 70 + length 8 exceeds buffer of 64`).
 * - A failing syscall throws an Error carrying `errno` (number), `code`
 *   (e.g. 'EADDRINUSE'), `syscall`, and a message naming the device, port or
 *   argument involved.
 * - IPv4 addresses cross the boundary as unsigned 32-bit integers in host
 *   order (10.244.1.2 = 0x0af40102).
 */

/** An opaque handle binding a PacketBatch's memory to the addon (see batchAttach). */
export interface NativeBatch { readonly __nativeBatch: unique symbol }

/** An opaque uv_poll_t watcher. */
export interface NativePoll { readonly __nativePoll: unique symbol }

/**
 * An opaque per-TUN offload state (tunOffloadNew): a 64 KB read scratch holding the
 * super-packet being cut, the coalescing planner and its buffers. Use one per TUN fd.
 */
export interface NativeTunOffload { readonly __nativeTunOffload: unique symbol }

/** An opaque per-socket UDP_GRO state (udpGroNew): datagrams parked when a batch was full. */
export interface NativeUdpGro { readonly __nativeUdpGro: unique symbol }

/** An opaque UDP GSO sender (udpGsoNew): UDP_SEGMENT sockets per outer source port. */
export interface NativeUdpGso { readonly __nativeUdpGso: unique symbol }

export interface UdpGsoOptions {
  /** Outer source address to bind the sockets to (our PublicIP; not 0). */
  srcIp: number;
  /** Outer TTL. */
  ttl: number;
  /** Sockets kept open at most (default 64); the least recently used is closed first. */
  sockets?: number;
}

export interface TunOpenOptions {
  /** IFF_VNET_HDR: prefix each packet with a virtio_net_hdr (used by the offload path). */
  vnetHdr?: boolean;
  /** IFF_MULTI_QUEUE: allow several fds on one device. */
  multiQueue?: boolean;
}

export interface TunHandle {
  fd: number;
  /** The name the kernel gave the device (may differ from a template like 'vx%d'). */
  name: string;
}

export interface SendOptions {
  /** Outer IPv4 source address (our PublicIP). */
  srcIp: number;
  /** Outer UDP destination port (8472 by default). */
  dstPort: number;
  /** Outer TTL (64 as the kernel's `ttl auto`). */
  ttl: number;
  /** Compute the outer UDP checksum (true) or send zero (false). */
  udpChecksum: boolean;
}

export interface NativeBinding {
  // ---- checksums (RFC 1071 / 1624), zero-copy over caller memory ----
  /** 16-bit one's-complement sum of buf[offset, offset+length), folded, not inverted, added to `seed` (a previous folded sum). */
  onesSum(buf: Uint8Array, offset: number, length: number, seed?: number): number;
  /** RFC 1071 internet checksum of the range as it is: ~onesSum & 0xffff. A range that already holds a correct checksum gives 0. */
  internetChecksum(buf: Uint8Array, offset: number, length: number): number;
  /** Internet checksum of the IPv4 header at `offset` (its length from IHL), over the bytes as they are. */
  ipv4HeaderChecksum(buf: Uint8Array, offset: number): number;
  /**
   * UDP or TCP checksum with the IPv4 pseudo-header (src, dst, zero, proto, l4Length) over
   * buf[l4Offset, l4Offset+l4Length) as it is. To generate: zero the checksum field first
   * (and send a UDP result of 0 as 0xffff). To verify: a correct segment gives 0.
   */
  l4ChecksumIPv4(buf: Uint8Array, l4Offset: number, l4Length: number, src: number, dst: number, proto: number): number;
  /** RFC 1624 eqn. 3: the checksum after one 16-bit word changes from oldWord to newWord. */
  checksumUpdate16(checksum: number, oldWord: number, newWord: number): number;
  /**
   * Finishes a leaked partial checksum (native/partial_csum.h): when buf[offset,
   * offset+length) is an unfragmented IPv4 TCP or UDP packet whose L4 checksum does not
   * verify and whose checksum field holds the folded pseudo-header sum (what a sender's
   * stack leaves for its NIC), writes the checksum the NIC would have and returns true.
   * Any other packet, a valid one included, is left as it is: false.
   */
  finishLeakedChecksum(buf: Uint8Array, offset: number, length: number): boolean;

  // ---- batches ----
  /**
   * Pins a PacketBatch's arrays for batched I/O. `bytes` holds `capacity` slots of
   * `slotSize` bytes; packet i lives at bytes[off[i], off[i]+len[i]).
   */
  batchAttach(
    bytes: Uint8Array, slotSize: number, headroom: number,
    off: Uint32Array, len: Uint32Array, addr: Uint32Array, port: Uint16Array,
    tos: Uint8Array, verdict: Uint8Array,
  ): NativeBatch;

  // ---- TUN device ----
  /** Opens /dev/net/tun with IFF_TUN|IFF_NO_PI (plus options), non-blocking. */
  tunOpen(name: string, options?: TunOpenOptions): TunHandle;
  /**
   * Reads up to `max` packets (one read() each, stopping at EAGAIN) into slots 0..n-1 at
   * slot start + headroom; sets off/len. Returns n (0 when nothing is pending).
   *
   * With `offload` (the TUN was opened with vnetHdr), each read() carries a
   * virtio_net_hdr: GSO_NONE packets land as above (a NEEDS_CSUM partial checksum is
   * completed); a TCPV4/TCPV6 super-packet (UDP_L4 when the state's flags include USO) is
   * cut into gso_size segments in consecutive slots, each with its own IPv4 ID, lengths,
   * sequence number, FIN/PSH on the last only and a full L4 checksum. Segments that do not
   * fit stay in the state for the next call (stats[pending] > 0), in order. A malformed
   * header drops the packet and counts it in stats[badVnetHeader]; nothing is thrown.
   */
  tunRead(fd: number, batch: NativeBatch, max: number, offload?: NativeTunOffload): number;
  /**
   * Writes, one write() each, every packet i < n whose verdict[i] === want. Returns how many
   * were written; failures are not thrown.
   *
   * With `offload`, each write carries a virtio_net_hdr, and runs of TCP segments of one
   * flow that may merge (see native/gro.h; checksums verified first) are written as one
   * GSO_TCPV4 super-packet, and, when the state's flags include USO4, runs of one UDP
   * flow's datagrams as one GSO_UDP_L4 super-packet (a kernel that answers EINVAL gets
   * that run one by one and no UDP runs after it: 'udpGroDisabled'); `written` then counts
   * the packets inside. Unmerged packets get a zero header.
   *
   * Either way, a selected packet whose TCP/UDP checksum a sender left as a partial
   * (pseudo-header) sum, as a kernel VTEP does on a veth underlay, is finished in place
   * first (see finishLeakedChecksum) and `finished[0]` grows by one; nothing else in the
   * batch is changed.
   *
   * An IPv4 TCP packet longer than the MTU that still holds its pseudo-header sum (a peer's
   * TSO frame that crossed a veth whole; SYN/RST, options-bearing and fragment headers
   * excluded) is cut rather than finished: with `offload` the kernel cuts it (GSO_TCPV4,
   * stats[oversizeTcp]); without, given `mtu`, the addon writes the MTU-sized segments
   * itself (IDs counted up, sequence numbers, PSH/FIN on the last, CWR on the first, full
   * checksums), counts the packet once as written when every segment was taken, and
   * `finished[1]` (when finished has two elements) grows by one.
   */
  tunWrite(fd: number, batch: NativeBatch, n: number, want: number, offload?: NativeTunOffload, finished?: Float64Array, mtu?: number): number;
  /**
   * TUNSETOFFLOAD with TUN_F_* flags (src/dataplane/offload.ts). Throws (EINVAL) when the
   * kernel does not know a flag, which is how USO is probed.
   */
  tunSetOffload(fd: number, flags: number): void;
  /**
   * A TUN offload state for tunRead/tunWrite. `flags`: the TUN_F_* bits the device
   * accepted. The addon counts into `stats` (length >= TUN_STATS.length, kept alive by
   * the handle) and never allocates per packet. `mtu` (the TUN's MTU; 0 or absent: unknown):
   * on write, an IPv4 TCP packet longer than it whose checksum field holds the
   * pseudo-header sum (a peer's TSO frame that crossed a veth underlay whole) goes out as a
   * GSO_TCPV4 super-packet of MTU-sized segments for the kernel to cut ('oversizeTcp').
   * `coalesce` (default 3): which flows tunWrite may merge, bit 1 TCP, bit 2 UDP (UDP only
   * with USO4 in `flags`); RangeError above 3.
   */
  tunOffloadNew(flags: number, stats: Float64Array, mtu?: number, coalesce?: number): NativeTunOffload;
  /** Sets a link's MTU (SIOCSIFMTU). */
  linkSetMtu(name: string, mtu: number): void;
  /** Sets a link administratively up (SIOCSIFFLAGS). */
  linkSetUp(name: string): void;
  /** Reads a link's MTU (SIOCGIFMTU). */
  linkGetMtu(name: string): number;

  // ---- UDP side ----
  /** A non-blocking UDP socket bound to bindIp:port (bindIp 0 = any), with the given buffer sizes (forced when permitted). */
  udpOpen(bindIp: number, port: number, rcvbuf: number, sndbuf: number): number;
  /**
   * recvmmsg up to `max` datagrams into slots at slot start + headroom; sets off, len, addr
   * (source IP) and port (source port). A datagram larger than the slot keeps its real
   * length in len[i] (> slotSize - headroom) so the caller can count it as oversize.
   */
  udpRecv(fd: number, batch: NativeBatch, max: number, gro?: NativeUdpGro): number;
  /**
   * setsockopt(SOL_UDP, UDP_GRO). Returns false when the kernel does not support it
   * (then leave `gro` out of udpRecv); other failures throw.
   */
  udpSetGro(fd: number, on: boolean): boolean;
  /**
   * A UDP_GRO receive state for udpRecv on a socket with UDP_GRO on: each coalesced
   * message (its UDP_GRO cmsg read every time) is split into one slot per datagram, with
   * the sender's addr/port on each; what does not fit the batch is parked and handed out
   * first next call (stats[pending] > 0). Counters go to `stats` (>= UDP_GRO_STATS.length).
   */
  udpGroNew(stats: Float64Array): NativeUdpGro;
  /** A raw IPv4 socket (IPPROTO_RAW, header included) for sending. */
  rawOpen(sndbuf: number): number;
  /**
   * Sends, with sendmmsg on a raw socket, every packet i < n whose verdict[i] === want as a
   * UDP datagram: writes the outer IPv4 (DF clear, TTL, TOS tos[i], ID chosen by the kernel)
   * and UDP (source port port[i], checksum per options) headers into the 28 bytes before
   * off[i], to addr[i]:dstPort. Returns how many were sent; packets the kernel refused are
   * not thrown (EAGAIN and per-packet errors end the batch early).
   *
   * With `gso` (and udpChecksum on: UDP GSO always checksums), a run of consecutive
   * selected packets to one addr/port/tos with equal lengths (the last may be shorter; at
   * most 64 and 65507 bytes) goes out as one sendmsg with UDP_SEGMENT on the socket bound
   * to that source port, DF clear and the same TTL; the kernel writes the headers. Single
   * packets, ports another socket holds and runs the kernel refuses take the raw path. The
   * batch order is kept.
   */
  udpSend(fd: number, batch: NativeBatch, n: number, want: number, options: SendOptions, gso?: NativeUdpGso): number;
  /** A UDP GSO sender for udpSend; counters go to `stats` (>= UDP_GSO_STATS.length). */
  udpGsoNew(options: UdpGsoOptions, stats: Float64Array): NativeUdpGso;
  /** Closes the sender's sockets now; udpSend with it then takes the raw path. */
  udpGsoClose(gso: NativeUdpGso): void;

  // ---- event loop ----
  /** Starts a uv_poll on fd for readability; calls cb() on the loop whenever it is readable. */
  pollStart(fd: number, cb: () => void): NativePoll;
  /** Stops and frees a poll. Idempotent. */
  pollStop(poll: NativePoll): void;
  /**
   * Calls the poll's callback once on the next loop iteration, readable or not (for data the
   * addon holds while the fd is drained). Kicks before that call coalesce; a stopped poll
   * ignores them. Allocates nothing on the JS heap (a libuv idle handle, not setImmediate).
   */
  pollKick(poll: NativePoll): void;
  /** close(2). */
  close(fd: number): void;
  /**
   * Test hook: a connected AF_UNIX SOCK_SEQPACKET pair [a, b], non-blocking. One write()
   * is one record, so one end can stand in for a TUN fd (crafted virtio_net_hdr packets
   * in, written ones out) while a test drives the other with fs.readSync/writeSync.
   */
  socketPair(): [number, number];
}
