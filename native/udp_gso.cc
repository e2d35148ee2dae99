// SPDX-License-Identifier: Apache-2.0
// The UDP GSO send path (udp.h): a small LRU of UDP sockets, one per outer source port
// (the per-flow hash), each bound to srcIp:port with DF clear (IP_PMTUDISC_DONT) and the
// cluster TTL; a run of equal-size datagrams of one flow (the last may be shorter) goes
// out as one sendmsg with a UDP_SEGMENT cmsg (and IP_TOS for the outer ECN bits). The
// kernel then builds headers and checksums once and segments at the device: a UDP socket
// can do what the raw socket cannot. No SO_REUSEADDR: a port another socket holds is
// never shared (that flow simply stays on the raw path).
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "udp.h"

namespace vxtun {
namespace {

constexpr uint32_t kMaxGsoSegments = 64;          // UDP_MAX_SEGMENTS on kernels before 6.x raised it
constexpr uint32_t kMaxGsoPayload = 65535 - 28;   // one IPv4 datagram

// A bound, non-blocking UDP socket for srcIp:port; -1 when the port is taken or setup fails.
int OpenPortSocket(const UdpGso* st, uint16_t port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int dont = IP_PMTUDISC_DONT, ttl = static_cast<int>(st->ttl), tiny = 1;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(st->srcIp);
  sa.sin_port = htons(port);
  if (setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &dont, sizeof(dont)) < 0 ||
      setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny)) < 0 ||  // it is never read
      SetBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, 1 << 20) != 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The socket for a source port (opened on first use, the least recently used closed to
// make room); -1 when that port cannot be used.
int PortSocket(UdpGso* st, double* stats, uint16_t port) {
  st->clock++;
  GsoSocket* oldest = nullptr;
  for (GsoSocket& s : st->socks) {
    if (s.port == port) {
      s.used = st->clock;
      return s.fd;
    }
    if (oldest == nullptr || s.used < oldest->used) oldest = &s;
  }
  int fd = OpenPortSocket(st, port);
  if (fd < 0) stats[kGsoBindFailures]++;
  if (st->socks.size() < st->capacity) {
    st->socks.push_back({port, fd, st->clock});
  } else {
    if (oldest->fd >= 0) close(oldest->fd);
    *oldest = {port, fd, st->clock};
  }
  double open = 0;
  for (const GsoSocket& s : st->socks) open += s.fd >= 0;
  stats[kGsoSockets] = open;
  return fd;
}

// One sendmsg of packets index[k, e) (all of length size but the last) with UDP_SEGMENT;
// 0 or an errno.
int SendRun(int fd, Batch* b, uint32_t k, uint32_t e, uint16_t size, const SendOptions& o, UdpGso* st) {
  const uint32_t first = b->index[k];
  for (uint32_t m = k; m < e; m++) st->iov[m - k] = {b->bytes + b->off[b->index[m]], b->len[b->index[m]]};
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(b->addr[first]);
  to.sin_port = htons(static_cast<uint16_t>(o.dstPort));
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(int))] = {};
  msghdr h{};
  h.msg_name = &to;
  h.msg_namelen = sizeof(to);
  h.msg_iov = st->iov.data();
  h.msg_iovlen = e - k;
  h.msg_control = control;
  h.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  std::memcpy(CMSG_DATA(c), &size, sizeof(size));
  c = CMSG_NXTHDR(&h, c);
  int tos = b->tos[first];
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_TOS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &tos, sizeof(tos));
  ssize_t r;
  do r = sendmsg(fd, &h, MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  return r < 0 ? errno : 0;
}

}  // namespace

void UdpGso::CloseAll() {
  for (GsoSocket& s : socks)
    if (s.fd >= 0) close(s.fd);
  socks.clear();
}

int64_t SendWithGso(napi_env env, int rawFd, Batch* b, uint32_t count, const SendOptions& o, UdpGso* st) {
  double* stats = st->stats.Get(env);
  if (!stats) return -1;
  if (st->iov.size() < kMaxGsoSegments) st->iov.resize(kMaxGsoSegments);
  int64_t sent = 0;
  uint32_t queued = 0;  // raw messages waiting, in order, for the next flush
  bool blocked = false;
  for (uint32_t k = 0; k < count && !blocked;) {
    const uint32_t i = b->index[k];
    const uint32_t size = b->len[i];
    uint32_t e = k + 1, total = size;
    while (e < count && e - k < kMaxGsoSegments && size > 0) {
      const uint32_t j = b->index[e];
      if (b->addr[j] != b->addr[i] || b->port[j] != b->port[i] || b->tos[j] != b->tos[i] || b->len[j] > size ||
          total + b->len[j] > kMaxGsoPayload)
        break;
      total += b->len[j];
      e++;
      if (b->len[j] < size) break;  // a shorter datagram ends the run
    }
    int fd = e - k >= 2 && !st->disabled ? PortSocket(st, stats, b->port[i]) : -1;
    if (fd >= 0) {
      if (queued > 0) {  // what came before goes first
        int64_t r = FlushRaw(env, rawFd, b, queued, &blocked);
        if (r < 0) return -1;
        sent += r;
        queued = 0;
        if (blocked) break;
      }
      int err = SendRun(fd, b, k, e, static_cast<uint16_t>(size), o, st);
      if (err == 0) {
        sent += e - k;
        stats[kGsoSends]++;
        stats[kGsoSegments] += e - k;
        k = e;
        continue;
      }
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) break;
      if (err == EIO) {  // no UDP GSO in this kernel (wireguard-go's errShouldDisableUDPGSO)
        st->disabled = true;
        stats[kGsoDisabled] = 1;
      }
      stats[kGsoFallbacks]++;
    }
    for (uint32_t m = k; m < e; m++) QueueRaw(b, queued++, b->index[m], o);
    k = e;
  }
  if (!blocked && queued > 0) {
    int64_t r = FlushRaw(env, rawFd, b, queued, &blocked);
    if (r < 0) return -1;
    sent += r;
  }
  return sent;
}

}  // namespace vxtun
