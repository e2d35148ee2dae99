// SPDX-License-Identifier: Apache-2.0
/**
 * PacketBatch: the one piece of memory the hot path works on.
 *
 *   bytes: | slot 0 ............ | slot 1 ............ | ... | slot capacity-1 |
 *   slot:  | headroom | packet bytes ...................... | (unused)        |
 *
 * A packet is described by struct-of-arrays descriptors, indexed by slot:
 *   off[i]     absolute offset of the packet's first byte in `bytes`
 *   len[i]     its length
 *   addr[i]    an IPv4 address (host order): the remote VTEP to send to, or the sender
 *   port[i]    a UDP port: the outer source port to use, or the sender's port
 *   tos[i]     the outer TOS byte to send with (ECN copied from the inner packet)
 *   verdict[i] where the packet goes next: VERDICT_DROP, VERDICT_UDP or VERDICT_TUN
 *
 * Readers fill slots from headroom; encapsulation writes headers into the headroom by
 * moving off[i] back (no copy), and the UDP side may use 28 more bytes in front of that
 * for the outer IPv4 and UDP headers. Nothing here is allocated per packet: a Device
 * owns two batches (TUN→UDP and UDP→TUN) for its whole life.
 */
import type { NativeBatch, NativeBinding } from '../native/binding.js';

export const VERDICT_DROP = 0;
export const VERDICT_UDP = 1;
export const VERDICT_TUN = 2;

/**
 * Bytes reserved in front of every packet: 28 outer IPv4+UDP, 8 VXLAN, 14 inner Ethernet,
 * 14 spare. (The virtio_net_hdr of the TUN offloads never lives here: the addon reads it
 * into its own scratch and writes it from a separate iovec.)
 */
export const DEFAULT_HEADROOM = 64;

export class PacketBatch {
  readonly capacity: number;
  readonly slotSize: number;
  readonly headroom: number;
  readonly bytes: Buffer;
  readonly view: DataView;
  readonly off: Uint32Array;
  readonly len: Uint32Array;
  readonly addr: Uint32Array;
  readonly port: Uint16Array;
  readonly tos: Uint8Array;
  readonly verdict: Uint8Array;
  /**
   * Packets the reader discarded while filling this batch (a malformed virtio_net_hdr,
   * counted as 'bad-gso'). Set by the seam's read and consumed (reset to 0) by the Device.
   */
  readDrops = 0;
  /**
   * Inner packets whose partial L4 checksum (left by a sender for a NIC that never ran, as
   * on a veth underlay) the seam's write finished. Set by write, consumed by the Device.
   */
  checksumsFinished = 0;
  #native: NativeBatch | undefined;

  /**
   * @param capacity packets per batch (the batch size, fixed for the batch's life)
   * @param maxPacket the largest packet a slot must hold, headroom excluded
   * @param headroom bytes reserved in front of each packet
   */
  constructor(capacity: number, maxPacket: number, headroom = DEFAULT_HEADROOM) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1024) throw new RangeError(`batch capacity ${capacity} must be an integer in 1..1024`);
    if (!Number.isInteger(maxPacket) || maxPacket < 68 || maxPacket > 65535) throw new RangeError(`maxPacket ${maxPacket} must be an integer in 68..65535`);
    if (!Number.isInteger(headroom) || headroom < 0 || headroom > 256) throw new RangeError(`headroom ${headroom} must be an integer in 0..256`);
    this.capacity = capacity;
    this.headroom = headroom;
    // Slots are 64-byte aligned so packet starts share cache-line alignment.
    this.slotSize = Math.ceil((headroom + maxPacket) / 64) * 64;
    this.bytes = Buffer.alloc(capacity * this.slotSize);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.off = new Uint32Array(capacity);
    this.len = new Uint32Array(capacity);
    this.addr = new Uint32Array(capacity);
    this.port = new Uint16Array(capacity);
    this.tos = new Uint8Array(capacity);
    this.verdict = new Uint8Array(capacity);
  }

  /** Bytes a slot can hold after its headroom. */
  get maxPacket(): number {
    return this.slotSize - this.headroom;
  }

  /** Offset of slot i's first packet byte when freshly filled (slot start + headroom). */
  dataStart(i: number): number {
    return i * this.slotSize + this.headroom;
  }

  /** Copies `packet` into slot i at headroom and sets its descriptor (tests and in-memory seams; not the hot path). */
  fill(i: number, packet: Uint8Array, addr = 0, port = 0): void {
    if (packet.length > this.maxPacket) throw new RangeError(`packet of ${packet.length} bytes exceeds slot capacity ${this.maxPacket}`);
    const at = this.dataStart(i);
    this.bytes.set(packet, at);
    this.off[i] = at;
    this.len[i] = packet.length;
    this.addr[i] = addr;
    this.port[i] = port;
    this.tos[i] = 0;
    this.verdict[i] = VERDICT_DROP;
  }

  /** A copy of packet i (tests and slow paths only). */
  packet(i: number): Buffer {
    const o = this.off[i]!;
    return Buffer.from(this.bytes.subarray(o, o + this.len[i]!));
  }

  /** A view of packet i without copying (valid until the slot is reused). */
  slice(i: number): Buffer {
    const o = this.off[i]!;
    return this.bytes.subarray(o, o + this.len[i]!);
  }

  /** The addon's handle on this batch, created on first use. */
  native(binding: NativeBinding): NativeBatch {
    if (!this.#native) {
      this.#native = binding.batchAttach(this.bytes, this.slotSize, this.headroom, this.off, this.len, this.addr, this.port, this.tos, this.verdict);
    }
    return this.#native;
  }
}
