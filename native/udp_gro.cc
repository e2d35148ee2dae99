// SPDX-License-Identifier: Apache-2.0
// udpRecv on a socket with UDP_GRO on: the kernel hands over runs of same-4-tuple
// datagrams as one coalesced message (all segments gso bytes but the last), reported in a
// SOL_UDP/UDP_GRO cmsg read on every message. Each is split back into one slot per
// datagram, so the decapsulator sees what it would without GRO.
//
// In place, no scratch copy on the common path: message k lands in slot base+k and its
// segments go to slots pos[k].. >= base+k, so expanding from the last message to the first
// never overwrites a message not yet split. Messages that do not fit the batch (and the
// tail of the one cut at its end) are parked in the state and handed out first next call;
// how many messages one recvmmsg asks for adapts to the segments per message seen last,
// so parking is rare.
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "args.h"
#include "offload.h"

namespace vxtun {
namespace {

constexpr size_t kControl = 64;  // room for the UDP_GRO cmsg (an int)

inline uint32_t SegCount(uint32_t len, uint32_t gso) { return gso ? (len + gso - 1) / gso : 1; }

// Segment s of a datagram whose bytes start at data (len bytes; gso 0 = not coalesced)
// into slot j. A datagram longer than the slot keeps its real length in len[j].
void PutSegment(Batch* b, uint32_t j, const uint8_t* data, uint32_t len, uint32_t gso, uint32_t s, uint32_t addr,
                uint16_t port) {
  size_t at = b->DataStart(j);
  uint32_t segLen = len;
  if (gso) {
    data += static_cast<size_t>(s) * gso;
    segLen = std::min(gso, len - s * gso);
  }
  if (b->bytes + at != data) std::memcpy(b->bytes + at, data, std::min(segLen, b->Room()));
  b->off[j] = static_cast<uint32_t>(at);
  b->len[j] = segLen;
  b->addr[j] = addr;
  b->port[j] = port;
}

uint32_t PendingCount(const UdpGro* st) {
  uint32_t c = 0;
  for (size_t k = st->pendHead; k < st->pend.size(); k++) c += SegCount(st->pend[k].len, st->pend[k].gso);
  return c - st->pendSeg;
}

// Hands out parked datagrams into slots n..; returns the new n.
uint32_t DrainParked(Batch* b, uint32_t n, size_t max, UdpGro* st, double* stats) {
  while (n < max && st->pendHead < st->pend.size()) {
    const PendingDatagram& d = st->pend[st->pendHead];
    const uint32_t s = SegCount(d.len, d.gso);
    const uint8_t* data = st->pendBytes.data() + d.at;
    for (; n < max && st->pendSeg < s; n++, st->pendSeg++) {
      PutSegment(b, n, data, d.len, d.gso, st->pendSeg, d.addr, d.port);
      if (d.gso) stats[kUdpSegmentsOut]++;
    }
    if (st->pendSeg == s) {
      st->pendHead++;
      st->pendSeg = 0;
    }
  }
  if (st->pendHead == st->pend.size()) {  // all out: keep the capacity, drop the contents
    st->pend.clear();
    st->pendBytes.clear();
    st->pendHead = 0;
  }
  return n;
}

// The segment size from a message's UDP_GRO cmsg, 0 when there is none.
uint32_t GsoSize(msghdr* h) {
  for (cmsghdr* c = CMSG_FIRSTHDR(h); c != nullptr; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int v;
      std::memcpy(&v, CMSG_DATA(c), sizeof(v));
      return v > 0 ? static_cast<uint32_t>(v) : 0;
    }
  }
  return 0;
}

}  // namespace

napi_value UdpRecvGro(napi_env env, int fd, Batch* b, size_t max, UdpGro* st) {
  double* stats = st->stats.Get(env);
  if (!stats) return nullptr;
  const uint32_t room = b->Room();
  uint32_t n = DrainParked(b, 0, max, st, stats);
  if (n < max && st->pend.empty()) {
    const uint32_t base = n;
    uint32_t want = static_cast<uint32_t>(std::min<size_t>(max - n, kMaxMsgs));
    want = std::max<uint32_t>(1, want / st->segsHint);
    if (st->gso.size() < want) {
      st->control.resize(static_cast<size_t>(want) * kControl);
      st->gso.resize(want);
      st->segs.resize(want);
      st->pos.resize(want);
    }
    for (uint32_t k = 0; k < want; k++) {
      b->iov[k] = {b->bytes + b->DataStart(base + k), room};
      msghdr& h = b->msgs[k].msg_hdr;
      h = msghdr{};
      h.msg_name = &b->names[k];
      h.msg_namelen = sizeof(sockaddr_in);
      h.msg_iov = &b->iov[k];
      h.msg_iovlen = 1;
      h.msg_control = st->control.data() + static_cast<size_t>(k) * kControl;
      h.msg_controllen = kControl;
      b->msgs[k].msg_len = 0;
    }
    int r;
    do r = recvmmsg(fd, b->msgs.get(), want, MSG_DONTWAIT | MSG_TRUNC, nullptr);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      int err = errno;
      if (err != EAGAIN && err != EWOULDBLOCK && n == 0) {
        ThrowErrno(env, err, "recvmmsg", "receive from UDP fd " + std::to_string(fd));
        return nullptr;
      }
      r = 0;  // with datagrams already handed out, the error waits for the next call
    }
    const uint32_t got = static_cast<uint32_t>(r);
    uint32_t most = 1;
    for (uint32_t k = 0; k < got; k++) {
      uint32_t len = b->msgs[k].msg_len;
      uint32_t g = GsoSize(&b->msgs[k].msg_hdr);
      if (len > room || len <= g) g = 0;  // truncated, or a single datagram
      st->gso[k] = g;
      st->segs[k] = SegCount(len, g);
      most = std::max(most, st->segs[k]);
      if (g) stats[kUdpCoalesced]++;
    }
    if (got > 0) st->segsHint = most;
    // Where each message's segments go; the first that does not fit is cut there.
    uint32_t p = base, cutAt = got, cut = 0;
    for (uint32_t k = 0; k < got; k++) {
      st->pos[k] = p;
      if (p + st->segs[k] > max) {
        cutAt = k;
        cut = static_cast<uint32_t>(max - p);
        break;
      }
      p += st->segs[k];
    }
    for (uint32_t k = cutAt; k < got; k++) {  // park before anything is overwritten
      const uint8_t* src = b->bytes + b->DataStart(base + k);
      uint32_t len = b->msgs[k].msg_len;
      st->pend.push_back({st->pendBytes.size(), len, st->gso[k], ntohl(b->names[k].sin_addr.s_addr), ntohs(b->names[k].sin_port)});
      st->pendBytes.insert(st->pendBytes.end(), src, src + std::min(len, room));
      stats[kUdpOverflow]++;
    }
    if (cutAt < got) st->pendSeg = cut;
    for (int64_t k = cutAt < got ? cutAt : static_cast<int64_t>(got) - 1; k >= 0; k--) {
      const uint32_t limit = static_cast<uint32_t>(k) == cutAt ? cut : st->segs[k];
      const uint8_t* src = b->bytes + b->DataStart(base + static_cast<uint32_t>(k));
      const uint32_t addr = ntohl(b->names[k].sin_addr.s_addr);
      const uint16_t port = ntohs(b->names[k].sin_port);
      for (uint32_t s = 0; s < limit; s++) PutSegment(b, st->pos[k] + s, src, b->msgs[k].msg_len, st->gso[k], s, addr, port);
      if (st->gso[k]) stats[kUdpSegmentsOut] += limit;
    }
    n = cutAt < got ? static_cast<uint32_t>(max) : p;
  }
  stats[kUdpPending] = PendingCount(st);
  napi_value out;
  napi_create_uint32(env, n, &out);
  return out;
}

}  // namespace vxtun
