// SPDX-License-Identifier: Apache-2.0
import type { PacketBatch } from '../dataplane/batch.js';

/**
 * A Bind is the UDP side of a VTEP: it receives VXLAN datagrams on the local port and
 * sends VXLAN payloads to remote VTEPs.
 *
 * Contract:
 * - receive(batch) fills slots 0..n-1 with up to batch.capacity pending datagrams (the
 *   UDP payload, i.e. from the VXLAN header on, at slot start + headroom) and sets addr[i]
 *   and port[i] to the sender's IPv4 address and UDP port. It never blocks; 0 means none.
 *   A datagram longer than the slot keeps its true length in len[i], which then exceeds
 *   batch.maxPacket, so the caller can count it.
 * - send(batch, n) sends every packet i < n whose verdict is VERDICT_UDP as one UDP
 *   datagram to addr[i]:<the cluster port> with outer source port port[i] and TOS tos[i].
 *   It may write up to 28 bytes (outer IPv4 + UDP) in front of off[i]. It returns how many
 *   were sent; packets not sent (socket buffer full) are the caller's to count.
 * - onReadable(cb) as for Tun.
 * - After close(), receive() and send() return 0 and no callback fires.
 */
export interface Bind {
  /** The UDP port datagrams are received on and sent to. */
  readonly port: number;
  receive(batch: PacketBatch): number;
  send(batch: PacketBatch, n: number): number;
  onReadable(cb: () => void): void;
  close(): void;
}
