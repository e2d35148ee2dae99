// SPDX-License-Identifier: Apache-2.0
// udpSend: VXLAN payloads out as UDP datagrams from the per-flow source port, through the
// raw socket (outer headers written in the headroom, one sendmmsg per batch) or, with a
// GSO handle, runs through UDP_SEGMENT sockets (udp_gso.cc).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "args.h"
#include "bytes.h"
#include "checksum.h"
#include "udp.h"

namespace vxtun {
namespace {

bool ArgSendOptions(napi_env env, napi_value v, SendOptions* o) {
  if (!IsObject(env, v)) {
    ThrowTypeError(env, "options must be an object {srcIp, dstPort, ttl, udpChecksum}");
    return false;
  }
  napi_value p;
  if (!GetProp(env, v, "srcIp", &p) || !ArgU32(env, p, "options.srcIp", 0xffffffffu, &o->srcIp)) return false;
  if (!GetProp(env, v, "dstPort", &p) || !ArgU32(env, p, "options.dstPort", 0xffff, &o->dstPort)) return false;
  if (!GetProp(env, v, "ttl", &p) || !ArgU32(env, p, "options.ttl", 0xff, &o->ttl)) return false;
  if (!GetProp(env, v, "udpChecksum", &p) || !ArgBool(env, p, "options.udpChecksum", &o->udpChecksum)) return false;
  if (o->udpChecksum && o->srcIp == 0) {
    // The kernel would fill in a source address the checksum did not cover.
    ThrowRangeError(env, "options.srcIp must be set (not 0.0.0.0) when options.udpChecksum is on");
    return false;
  }
  return true;
}

// Writes the outer IPv4 and UDP headers for a payload of len bytes at p (28 bytes before it).
void WriteHeaders(uint8_t* p, uint32_t len, uint8_t tos, uint32_t dst, uint16_t srcPort, const SendOptions& o) {
  uint8_t* ip = p - kOuterHeaders;
  uint8_t* udp = p - 8;
  ip[0] = 0x45;
  ip[1] = tos;
  Set16(ip + 2, kOuterHeaders + len);
  Set16(ip + 4, 0);  // ID 0: the kernel picks one for IP_HDRINCL
  Set16(ip + 6, 0);  // flags and fragment offset: DF clear
  ip[8] = static_cast<uint8_t>(o.ttl);
  ip[9] = IPPROTO_UDP;
  Set16(ip + 10, 0);
  Set32(ip + 12, o.srcIp);
  Set32(ip + 16, dst);
  Set16(ip + 10, static_cast<uint16_t>(~OnesSum16(ip, 20)));
  Set16(udp, srcPort);
  Set16(udp + 2, o.dstPort);
  Set16(udp + 4, 8 + len);
  Set16(udp + 6, 0);
  if (o.udpChecksum) {
    uint16_t c = static_cast<uint16_t>(~OnesAdd(OnesSum16(udp, 8 + len), PseudoSum(o.srcIp, dst, IPPROTO_UDP, 8 + len)));
    Set16(udp + 6, c == 0 ? 0xffff : c);
  }
}

}  // namespace

void QueueRaw(Batch* b, uint32_t q, uint32_t i, const SendOptions& o) {
  uint8_t* p = b->bytes + b->off[i];
  WriteHeaders(p, b->len[i], b->tos[i], b->addr[i], b->port[i], o);
  sockaddr_in& sa = b->names[q];
  sa = sockaddr_in{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(b->addr[i]);
  b->iov[q].iov_base = p - kOuterHeaders;
  b->iov[q].iov_len = b->len[i] + kOuterHeaders;
  msghdr& h = b->msgs[q].msg_hdr;
  h = msghdr{};
  h.msg_name = &sa;
  h.msg_namelen = sizeof(sa);
  h.msg_iov = &b->iov[q];
  h.msg_iovlen = 1;
}

int64_t FlushRaw(napi_env env, int fd, Batch* b, uint32_t count, bool* blocked) {
  uint32_t k = 0, sent = 0;
  while (k < count) {
    int r = sendmmsg(fd, b->msgs.get() + k, std::min(count - k, kMaxMsgs), MSG_DONTWAIT);
    if (r > 0) {
      sent += static_cast<uint32_t>(r);
      k += static_cast<uint32_t>(r);
      continue;
    }
    int err = r < 0 ? errno : EAGAIN;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      *blocked = true;
      break;
    }
    if (err == EBADF || err == ENOTSOCK || err == EFAULT) {
      ThrowErrno(env, err, "sendmmsg", "send on raw fd " + std::to_string(fd));
      return -1;
    }
    k++;  // this packet was refused (EMSGSIZE, ENETUNREACH, EHOSTUNREACH, EPERM ...): skip it
  }
  return sent;
}

// udpSend(fd, batch, n, want, options, gso?) -> sent. For packets i < n with verdict[i] ==
// want: checks (all first, RangeError naming the index) off[i] >= 28, off[i]+len[i] inside
// bytes and len[i]+28 <= 65535; writes IPv4+UDP headers into bytes[off[i]-28, off[i]);
// sendmmsg to addr[i]. EINTR is retried; EAGAIN/ENOBUFS end the batch; any other
// per-packet error skips that packet. Kernel refusals are never thrown (a bad fd is).
// With a GSO handle and udpChecksum on, runs of one flow go out with UDP_SEGMENT instead
// (udp_gso.cc); the order of the batch is kept.
napi_value JsUdpSend(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  GetArgs(env, info, argv);
  int fd;
  uint32_t n, want;
  SendOptions o;
  if (!ArgFd(env, argv[0], "fd", &fd)) return nullptr;
  Batch* b = UnwrapBatch(env, argv[1]);
  if (!b || !ArgU32(env, argv[2], "n", b->capacity, &n) || !ArgU32(env, argv[3], "want", 0xff, &want) ||
      !ArgSendOptions(env, argv[4], &o))
    return nullptr;
  UdpGso* gso = nullptr;
  if (!IsUndefined(env, argv[5]) && !(gso = UnwrapUdpGso(env, argv[5], "gso"))) return nullptr;
  uint32_t count = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (b->verdict[i] != want) continue;
    uint32_t off = b->off[i], len = b->len[i];
    const char* bad = off < kOuterHeaders                            ? "leaves no room for the 28-byte IPv4+UDP headers"
                      : off > b->bytesLen || len > b->bytesLen - off ? "exceeds the bytes array"
                      : len > 65535 - kOuterHeaders                  ? "is too long for one IPv4 datagram (len + 28 > 65535)"
                                                                     : nullptr;
    if (bad) {
      ThrowRangeError(env, "packet " + std::to_string(i) + " (off " + std::to_string(off) + ", len " +
                               std::to_string(len) + ", bytes length " + std::to_string(b->bytesLen) + ") " + bad);
      return nullptr;
    }
    b->index[count++] = i;
  }
  int64_t sent;
  if (gso != nullptr && o.udpChecksum && !gso->disabled) {
    sent = SendWithGso(env, fd, b, count, o, gso);
  } else {
    for (uint32_t k = 0; k < count; k++) QueueRaw(b, k, b->index[k], o);
    bool blocked = false;
    sent = FlushRaw(env, fd, b, count, &blocked);
  }
  if (sent < 0) return nullptr;
  napi_value out;
  napi_create_uint32(env, static_cast<uint32_t>(sent), &out);
  return out;
}

}  // namespace vxtun
