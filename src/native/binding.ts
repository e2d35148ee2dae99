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
   */
  tunRead(fd: number, batch: NativeBatch, max: number): number;
  /** Writes, one write() each, every packet i < n whose verdict[i] === want. Returns how many were written; failures are not thrown. */
  tunWrite(fd: number, batch: NativeBatch, n: number, want: number): number;
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
  udpRecv(fd: number, batch: NativeBatch, max: number): number;
  /** A raw IPv4 socket (IPPROTO_RAW, header included) for sending. */
  rawOpen(sndbuf: number): number;
  /**
   * Sends, with sendmmsg on a raw socket, every packet i < n whose verdict[i] === want as a
   * UDP datagram: writes the outer IPv4 (DF clear, TTL, TOS tos[i], ID chosen by the kernel)
   * and UDP (source port port[i], checksum per options) headers into the 28 bytes before
   * off[i], to addr[i]:dstPort. Returns how many were sent; packets the kernel refused are
   * not thrown (EAGAIN and per-packet errors end the batch early).
   */
  udpSend(fd: number, batch: NativeBatch, n: number, want: number, options: SendOptions): number;

  // ---- event loop ----
  /** Starts a uv_poll on fd for readability; calls cb() on the loop whenever it is readable. */
  pollStart(fd: number, cb: () => void): NativePoll;
  /** Stops and frees a poll. Idempotent. */
  pollStop(poll: NativePoll): void;
  /** close(2). */
  close(fd: number): void;
}
