// SPDX-License-Identifier: Apache-2.0
// The UDP send side shared by the raw path (udp_send.cc) and the UDP GSO path (udp_gso.cc).
//
// Raw path (always available): a raw IPv4 socket, outer IPv4+UDP headers written in the
// 28 bytes before each payload, one sendmmsg per batch; the outer source port is the
// per-flow hash, as the kernel's VXLAN sends.
// GSO path (optional, udpGsoNew): runs of equal-size datagrams of one flow go out in one
// sendmsg with UDP_SEGMENT on a UDP socket bound to that flow's source port; the kernel
// builds the headers and checksums and segments late. Everything else takes the raw path.
#ifndef VXTUN_UDP_H_
#define VXTUN_UDP_H_

#include <napi.h>

#include <cstdint>
#include <vector>

#include "batch.h"
#include "offload.h"

namespace vxtun {

constexpr uint32_t kOuterHeaders = 28;  // outer IPv4 (20, no options) + UDP (8)

struct SendOptions {
  uint32_t srcIp, dstPort, ttl;
  bool udpChecksum;
};

// Sets a socket buffer size, forced past the sysctl limits when we have CAP_NET_ADMIN,
// else capped by them. 0 leaves the default. Returns 0 or an errno (udp.cc).
int SetBuffer(int fd, int forceOpt, int opt, uint32_t size);

// Writes packet i's outer headers and makes it raw message q (msgs/iov/names[q]) (udp_send.cc).
void QueueRaw(Batch* b, uint32_t q, uint32_t i, const SendOptions& o);

// sendmmsg of raw messages [0, count): returns how many were sent; *blocked when
// EAGAIN/ENOBUFS stopped it; -1 after throwing (a bad fd) (udp_send.cc).
int64_t FlushRaw(napi_env env, int fd, Batch* b, uint32_t count, bool* blocked);

// Counters of the UDP GSO path (mirrored in src/dataplane/offload.ts).
enum GsoStat : uint32_t {
  kGsoSockets = 0,     // sockets open (a level)
  kGsoSends,           // UDP_SEGMENT sends
  kGsoSegments,        // datagrams inside them
  kGsoBindFailures,    // source ports another socket holds (those flows stay raw)
  kGsoFallbacks,       // runs sent raw after the kernel refused the GSO send
  kGsoDisabled,        // 1 once the kernel said it cannot do UDP GSO (EIO)
  kGsoStatCount,
};

struct GsoSocket {
  uint16_t port;
  int fd;         // -1: binding the port failed; the flow takes the raw path
  uint64_t used;  // LRU clock
};

struct UdpGso {
  StatsRef stats;
  uint32_t srcIp = 0;
  uint32_t ttl = 64;
  size_t capacity = 64;  // sockets kept (least recently used closed first)
  bool disabled = false;
  std::vector<GsoSocket> socks;
  uint64_t clock = 0;
  std::vector<iovec> iov;
  void CloseAll();
  ~UdpGso() { CloseAll(); }
};

UdpGso* UnwrapUdpGso(napi_env env, napi_value v, const char* name);

// Sends the packets b->index[0, count) (all validated) through runs of GSO and the raw
// queue, in batch order; returns how many were sent, or -1 after throwing (udp_gso.cc).
int64_t SendWithGso(napi_env env, int rawFd, Batch* b, uint32_t count, const SendOptions& o, UdpGso* st);

napi_value JsUdpSend(napi_env env, napi_callback_info info);

}  // namespace vxtun

#endif  // VXTUN_UDP_H_
