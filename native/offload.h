// SPDX-License-Identifier: Apache-2.0
// Offload state objects handed to JS as tagged Externals: one per TUN (the read scratch,
// a pending super-packet, the GRO planner) and one per UDP socket with UDP_GRO (pending
// coalesced datagrams). Each reports counters into a Float64Array the JS side owns and
// reads without calling in (layouts below, mirrored in src/dataplane/offload.ts).
#ifndef VXTUN_OFFLOAD_H_
#define VXTUN_OFFLOAD_H_

#include <napi.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "batch.h"
#include "gro.h"
#include "vnet.h"

namespace vxtun {

constexpr uint32_t kMaxMsgs = 1024;  // UIO_MAXIOV: the kernel's vlen cap for recvmmsg

// Counters of a TUN's offload state. kTunPending is a level (segments of a super-packet
// read but not yet handed out), the others only grow.
enum TunStat : uint32_t {
  kTunPending = 0,      // segments waiting in the scratch for the next tunRead
  kTunDropped,          // packets dropped for a malformed virtio_net_hdr ('bad-gso')
  kTunSuperRead,        // GSO super-packets read
  kTunSegmentsOut,      // segments cut from them
  kTunCsumFinished,     // GSO_NONE packets whose partial checksum was completed
  kTunSuperWritten,     // coalesced super-packets written
  kTunSegmentsMerged,   // segments inside them
  kTunUdpSuperWritten,  // of those super-packets, the GSO_UDP_L4 ones
  kTunUdpGroDisabled,   // 1 once the kernel refused a GSO_UDP_L4 write (UDP written one by one since)
  kTunOversizeTcp,      // TCP packets over the MTU (a peer's TSO frame that crossed a veth whole) written as GSO_TCPV4
  kTunStatCount,
};

// Counters of a UDP socket's GRO state (kUdpPending is a level).
enum UdpStat : uint32_t {
  kUdpPending = 0,      // datagrams (segments) received but not yet handed out
  kUdpCoalesced,        // coalesced datagrams received (a UDP_GRO cmsg with more than one segment)
  kUdpSegmentsOut,      // datagrams split out of them
  kUdpOverflow,         // received messages parked because the batch was full
  kUdpStatCount,
};

// A Float64Array of counters pinned by a reference; Get() re-reads its data pointer.
struct StatsRef {
  napi_ref ref = nullptr;
  size_t count = 0;
  // The counters, or nullptr after throwing a TypeError (the array was detached or shrunk).
  double* Get(napi_env env) const;
};

struct TunOffload {
  unsigned flags = 0;  // TUN_F_* in effect; USO4/USO6 allow UDP_L4 super-packets
  bool tcpGro = true;   // write side: coalesce TCP runs (unless turned off: coalesce bit 1)
  bool udpGro = false; // write side: coalesce UDP runs (USO4 in flags and coalesce bit 2, until the kernel refuses)
  uint32_t mtu = 0;    // the TUN's MTU; write side: longer TCP packets go out as GSO_TCPV4 (0: off)
  StatsRef stats;
  std::unique_ptr<uint8_t[]> scratch;  // virtio_net_hdr + the largest IP packet
  GsoPlan plan;                        // the pending super-packet in the scratch
  uint32_t pendNext = 0;               // its next segment (pending while < plan.count)
  GroPlanner gro;
  std::vector<const uint8_t*> pkts;    // write side: the selected packets, in order
  std::vector<uint32_t> lens;
  std::vector<iovec> iov;
  uint8_t hdr[kMergedHeaderRoom] = {};  // a merged packet's virtio, IPv4 and TCP/UDP headers (WriteMergedHeaders)
};

struct PendingDatagram {
  size_t at;     // offset in UdpGro::pendBytes
  uint32_t len;  // datagram length (the real one when it was truncated)
  uint32_t gso;  // segment size (0: one datagram)
  uint32_t addr;
  uint16_t port;
};

struct UdpGro {
  StatsRef stats;
  std::vector<uint8_t> control;        // recvmmsg control space, kControl bytes per message
  std::vector<uint32_t> gso, segs, pos;  // per message of one recvmmsg
  std::vector<uint8_t> pendBytes;      // messages that did not fit the batch, in order
  std::vector<PendingDatagram> pend;
  size_t pendHead = 0;                 // first message not fully handed out
  uint32_t pendSeg = 0;                // its next segment
  uint32_t segsHint = 1;               // most segments per message in the last recvmmsg
};

// Unwrap a tunOffloadNew / udpGroNew handle; nullptr after throwing a TypeError naming `name`.
TunOffload* UnwrapTunOffload(napi_env env, napi_value v, const char* name);
UdpGro* UnwrapUdpGro(napi_env env, napi_value v, const char* name);

// "read from TUN vxt0 (fd 7)" (tun.cc).
std::string TunWhat(const char* verb, int fd);

// The IFF_VNET_HDR variants of tunRead / tunWrite / udpRecv (arguments already checked);
// each returns the JS result, or nullptr with an exception pending.
napi_value TunReadVnet(napi_env env, int fd, Batch* b, size_t max, TunOffload* st);
napi_value TunWriteVnet(napi_env env, int fd, Batch* b, uint32_t n, uint32_t want, TunOffload* st);
napi_value UdpRecvGro(napi_env env, int fd, Batch* b, size_t max, UdpGro* st);

}  // namespace vxtun

#endif  // VXTUN_OFFLOAD_H_
