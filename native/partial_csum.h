// SPDX-License-Identifier: Apache-2.0
// Finishing inner L4 checksums that a sender left as a partial (pseudo-header) sum.
//
// Why: a kernel VTEP hands its NIC inner TCP/UDP packets in CHECKSUM_PARTIAL state (the
// checksum field holds only the folded pseudo-header sum; the NIC is to finish it). On a
// veth underlay (namespace labs, kind-style container nodes) no NIC ever does: the frame
// reaches the peer kernel as CHECKSUM_PARTIAL, which a kernel VTEP there trusts, but a UDP
// socket only sees the bytes. Written to a TUN as they are, the pod's stack drops them
// (TcpInCsumErrors), so TCP between a kernel-flannel node and a vxtun node fails in that
// setup. Before each TUN write the addon does what the missing NIC would have done.
#ifndef VXTUN_PARTIAL_CSUM_H_
#define VXTUN_PARTIAL_CSUM_H_

#include <cstddef>
#include <cstdint>

namespace vxtun {

// Contract: p[0, len) is an IPv4 packet. When it is an unfragmented TCP or UDP packet
// (total length = len; UDP with a non-zero checksum field) whose L4 checksum does not
// verify and whose checksum field equals the folded pseudo-header sum, the field is
// replaced by the checksum a NIC finishing CHECKSUM_PARTIAL computes (the complement of
// the one's-complement sum of the L4 bytes as they are; 0xffff for a UDP result of 0) and
// true is returned. Every other packet (a valid checksum included, even one that happens
// to equal the pseudo-header sum) is left untouched and false is returned. Reads only
// inside p[0, len); the cost for a packet that does not match is a few loads and adds.
bool FinishLeakedChecksum(uint8_t* p, size_t len);

// True when the L4 checksum field of the IPv4 packet p (header of `ihl` bytes, TCP when
// `tcp`, else UDP; l4 bytes after the header, all inside p) equals the folded
// pseudo-header sum, 0 and 0xffff being equal: what a sender's stack leaves for its NIC.
bool HoldsPseudoSum(const uint8_t* p, size_t ihl, bool tcp, size_t l4);

}  // namespace vxtun

#endif  // VXTUN_PARTIAL_CSUM_H_
