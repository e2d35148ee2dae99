// SPDX-License-Identifier: Apache-2.0
// tunRead / tunWrite on a TUN opened with IFF_VNET_HDR: GSO super-packets are cut into
// segments on the way in and TCP segments (with USO, UDP datagrams too) are coalesced on
// the way out, so the batch (and the TypeScript loops over it) only ever holds ordinary
// packets.
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "args.h"
#include "offload.h"

namespace vxtun {
namespace {

// Hands out pending segments into slots i.. while both last; returns the new i.
uint32_t EmitPending(Batch* b, uint32_t i, size_t max, TunOffload* st, double* stats) {
  const GsoPlan& p = st->plan;
  if (p.hdrLen + p.gsoSize > b->Room()) {  // planned for a batch with bigger slots
    stats[kTunDropped] += p.count - st->pendNext;
    st->pendNext = p.count;
    return i;
  }
  const uint8_t* src = st->scratch.get() + kVnetHdrLen;
  while (i < max && st->pendNext < p.count) {
    size_t at = b->DataStart(i);
    b->off[i] = static_cast<uint32_t>(at);
    b->len[i] = WriteSegment(p, src, st->pendNext, b->bytes + at);
    st->pendNext++;
    i++;
  }
  return i;
}

// writev with EINTR retried; 0 when the kernel took it, else the errno.
int WriteAll(int fd, const iovec* iov, int count) {
  ssize_t r;
  do r = writev(fd, iov, count);
  while (r < 0 && errno == EINTR);
  return r >= 0 ? 0 : errno;
}

// Writes run `it` as one super-packet (GSO_TCPV4 or GSO_UDP_L4): its headers, fixed up,
// then every segment's payload, gathered straight from the batch. 0 or the errno.
int WriteMerged(int fd, TunOffload* st, const GroItem& it) {
  const uint32_t hl = 20u + it.l4Hdr;
  iovec* iov = st->iov.data();
  iov[0] = {st->hdr, WriteMergedHeaders(it, st->pkts[it.head], st->pkts[it.tail], st->hdr)};
  int m = 1;
  for (uint32_t k = it.head; k != GroPlanner::kNone; k = st->gro.Next(k))
    iov[m++] = {const_cast<uint8_t*>(st->pkts[k] + hl), st->lens[k] - hl};
  return WriteAll(fd, iov, m);
}

// An oversize TCP packet that PlanOversizeTcp accepts, written as a GSO_TCPV4 super-packet
// of MTU-sized segments: the kernel cuts it where the sender's NIC would have (PSH/FIN on
// the last segment, IDs counted up). Written as it is, the kernel would not forward it past
// the MTU (DF) and TCP would stall. Returns the errno of the write, 0 when the kernel took
// it, or -1 when the packet does not qualify (it is then written as it is).
int WriteOversizeTcp(int fd, TunOffload* st, uint8_t* p, uint32_t len) {
  GsoPlan plan;
  if (!PlanOversizeTcp(p, len, st->mtu, &plan)) return -1;
  VnetHdr v;
  v.flags = kVnetNeedsCsum;
  v.gsoType = static_cast<uint8_t>(kGsoTcpV4 | ((p[33] & kTcpCwr) ? kGsoEcn : 0));
  v.hdrLen = plan.hdrLen;
  v.gsoSize = plan.gsoSize;
  v.csumStart = 20;
  v.csumOffset = 16;
  WriteVnetHdr(st->hdr, v);
  iovec iov[2] = {{st->hdr, kVnetHdrLen}, {p, len}};
  return WriteAll(fd, iov, 2);
}

// Writes packet k as it is, behind a zero virtio header; true when the kernel took it.
bool WritePlain(int fd, TunOffload* st, uint32_t k) {
  static const uint8_t kZeroHdr[kVnetHdrLen] = {};
  iovec iov[2] = {{const_cast<uint8_t*>(kZeroHdr), kVnetHdrLen}, {const_cast<uint8_t*>(st->pkts[k]), st->lens[k]}};
  return WriteAll(fd, iov, 2) == 0;
}

}  // namespace

napi_value TunReadVnet(napi_env env, int fd, Batch* b, size_t max, TunOffload* st) {
  double* stats = st->stats.Get(env);
  if (!stats) return nullptr;
  const uint32_t room = b->Room();
  const bool uso = (st->flags & (kTunFUso4 | kTunFUso6)) != 0;
  uint8_t* hdr = st->scratch.get();
  uint8_t* spill = hdr + kVnetHdrLen;  // a super-packet is made contiguous here
  uint32_t i = 0;
  while (i < max) {
    if (st->pendNext < st->plan.count) {
      uint32_t before = i;
      i = EmitPending(b, i, max, st, stats);
      stats[kTunSegmentsOut] += i - before;
      continue;
    }
    // Header to the scratch, the packet straight into slot i, any excess after it in the scratch.
    size_t at = b->DataStart(i);
    iovec iov[3] = {{hdr, kVnetHdrLen}, {b->bytes + at, room}, {spill + std::min<size_t>(room, kMaxIpPacket), 0}};
    if (room < kMaxIpPacket) iov[2].iov_len = kMaxIpPacket - room;
    ssize_t r = readv(fd, iov, iov[2].iov_len ? 3 : 2);
    if (r < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      if (i > 0) break;
      ThrowErrno(env, err, "read", TunWhat("read from", fd));
      return nullptr;
    }
    if (r == 0) break;  // not expected from a TUN; never loop on it
    if (static_cast<size_t>(r) < kVnetHdrLen) {
      stats[kTunDropped]++;
      continue;
    }
    size_t plen = static_cast<size_t>(r) - kVnetHdrLen;
    VnetHdr h = ReadVnetHdr(hdr);
    uint8_t* pkt = b->bytes + at;
    if (h.gsoType == kGsoNone) {
      if (plen > room) {
        plen = room;  // cut short: the encapsulator counts it as oversize
      } else if (h.flags & kVnetNeedsCsum) {
        if (!FinishChecksum(h, pkt, plen)) {
          stats[kTunDropped]++;
          continue;
        }
        stats[kTunCsumFinished]++;
      }
      b->off[i] = static_cast<uint32_t>(at);
      b->len[i] = static_cast<uint32_t>(plen);
      i++;
      continue;
    }
    std::memcpy(spill, pkt, std::min<size_t>(plen, room));
    if (!PlanGso(h, spill, plen, room, uso, &st->plan)) {
      st->plan.count = 0;
      stats[kTunDropped]++;
      continue;
    }
    st->pendNext = 0;
    stats[kTunSuperRead]++;
  }
  stats[kTunPending] = st->plan.count - st->pendNext;
  napi_value out;
  napi_create_uint32(env, i, &out);
  return out;
}

napi_value TunWriteVnet(napi_env env, int fd, Batch* b, uint32_t n, uint32_t want, TunOffload* st) {
  double* stats = st->stats.Get(env);
  if (!stats) return nullptr;
  if (st->pkts.size() < n) {
    st->pkts.resize(n);
    st->lens.resize(n);
  }
  uint32_t count = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (b->verdict[i] != want) continue;
    st->pkts[count] = b->bytes + b->off[i];
    st->lens[count] = b->len[i];
    count++;
  }
  st->gro.Build(st->pkts.data(), st->lens.data(), count, st->tcpGro, st->udpGro, st->mtu);
  uint32_t written = 0;
  for (uint32_t k = 0; k < count; k++) {
    uint32_t item = st->gro.ItemOf(k);
    if (item != GroPlanner::kNone) {
      const GroItem& it = st->gro.Item(item);
      if (it.head != k) continue;  // merged into an earlier packet's run
      if (it.segments > 1) {
        int err = WriteMerged(fd, st, it);
        if (err == 0) {
          written += it.segments;
          stats[kTunSuperWritten]++;
          stats[kTunSegmentsMerged] += it.segments;
          if (it.proto == 17) stats[kTunUdpSuperWritten]++;
        } else if (err == EINVAL && it.proto == 17) {
          // A kernel that negotiated USO but refuses GSO_UDP_L4 writes: stop merging UDP.
          st->udpGro = false;
          stats[kTunUdpGroDisabled] = 1;
          for (uint32_t j = k; j != GroPlanner::kNone; j = st->gro.Next(j))
            if (WritePlain(fd, st, j)) written++;
        }
        continue;
      }
    }
    if (st->lens[k] > st->mtu && st->mtu != 0) {
      int r = WriteOversizeTcp(fd, st, const_cast<uint8_t*>(st->pkts[k]), st->lens[k]);
      if (r >= 0) {
        if (r == 0) {
          written++;
          stats[kTunOversizeTcp]++;
        }
        continue;
      }
    }
    if (WritePlain(fd, st, k)) written++;
  }
  napi_value out;
  napi_create_uint32(env, written, &out);
  return out;
}

}  // namespace vxtun
