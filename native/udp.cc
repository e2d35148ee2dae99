// SPDX-License-Identifier: Apache-2.0
// The UDP side: a bound UDP socket received with recvmmsg, and a raw IPv4 socket that
// sends UDP datagrams whose IPv4+UDP headers we build in the slot headroom (sendmmsg).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "addon.h"
#include "args.h"
#include "batch.h"
#include "checksum.h"

namespace vxtun {
namespace {

constexpr uint32_t kHeaders = 28;        // outer IPv4 (20, no options) + UDP (8)
constexpr uint32_t kMaxMmsg = 1024;      // UIO_MAXIOV: the kernel's vlen cap for sendmmsg/recvmmsg

std::string IpText(uint32_t hostOrder) {
  in_addr a{htonl(hostOrder)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof(buf));
  return buf;
}

inline void Put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

inline void Put32(uint8_t* p, uint32_t v) {
  Put16(p, v >> 16);
  Put16(p + 2, v & 0xffff);
}

// Sets a socket buffer size, forced past the sysctl limits when we have CAP_NET_ADMIN,
// else capped by them. 0 leaves the default. Returns 0 or an errno.
int SetBuffer(int fd, int forceOpt, int opt, uint32_t size) {
  if (size == 0) return 0;
  int v = static_cast<int>(std::min<uint32_t>(size, 0x7fffffff));
  if (setsockopt(fd, SOL_SOCKET, forceOpt, &v, sizeof(v)) == 0) return 0;
  if (errno != EPERM) return errno;
  return setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) == 0 ? 0 : errno;
}

// udpOpen(bindIp, port, rcvbuf, sndbuf) -> fd: a non-blocking, close-on-exec UDP socket
// bound to bindIp:port (host order, 0 = any), buffers per SetBuffer.
napi_value JsUdpOpen(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  GetArgs(env, info, argv);
  uint32_t ip, port, rcvbuf, sndbuf;
  if (!ArgU32(env, argv[0], "bindIp", 0xffffffffu, &ip) || !ArgU32(env, argv[1], "port", 0xffff, &port) ||
      !ArgU32(env, argv[2], "rcvbuf", 0xffffffffu, &rcvbuf) || !ArgU32(env, argv[3], "sndbuf", 0xffffffffu, &sndbuf))
    return nullptr;
  std::string what = "udpOpen " + IpText(ip) + ":" + std::to_string(port);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket", what);
    return nullptr;
  }
  int err;
  if ((err = SetBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf)) != 0) {
    close(fd);
    ThrowErrno(env, err, "setsockopt", what + ": set receive buffer " + std::to_string(rcvbuf));
    return nullptr;
  }
  if ((err = SetBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf)) != 0) {
    close(fd);
    ThrowErrno(env, err, "setsockopt", what + ": set send buffer " + std::to_string(sndbuf));
    return nullptr;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(ip);
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
    err = errno;
    close(fd);
    std::string hint = err == EADDRINUSE ? "UDP port " + std::to_string(port) + " on " + IpText(ip) + " is already in use"
                       : err == EADDRNOTAVAIL ? "address " + IpText(ip) + " is not assigned to any interface"
                       : err == EACCES ? "UDP port " + std::to_string(port) + " needs CAP_NET_BIND_SERVICE"
                                       : std::string();
    ThrowErrno(env, err, "bind", what, hint.empty() ? nullptr : hint.c_str());
    return nullptr;
  }
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

// udpRecv(fd, batch, max) -> n. One recvmmsg(MSG_DONTWAIT | MSG_TRUNC) of up to
// min(max, capacity) datagrams, message i into slot i at headroom; sets off, len (the real
// datagram length, which exceeds slotSize - headroom when it was truncated), addr and
// port (the sender, host order). EAGAIN gives 0, EINTR is retried, other errors throw.
napi_value JsUdpRecv(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  GetArgs(env, info, argv);
  int fd;
  size_t max;
  if (!ArgFd(env, argv[0], "fd", &fd)) return nullptr;
  Batch* b = UnwrapBatch(env, argv[1]);
  if (!b || !ArgSize(env, argv[2], "max", &max)) return nullptr;
  max = std::min<size_t>({max, b->capacity, kMaxMmsg});
  int r = 0;
  if (max > 0) {
    for (uint32_t k = 0; k < max; k++) {
      b->iov[k].iov_base = b->bytes + b->DataStart(k);
      b->iov[k].iov_len = b->Room();
      msghdr& h = b->msgs[k].msg_hdr;
      h.msg_name = &b->names[k];
      h.msg_namelen = sizeof(sockaddr_in);
      h.msg_iov = &b->iov[k];
      h.msg_iovlen = 1;
      h.msg_control = nullptr;
      h.msg_controllen = 0;
      h.msg_flags = 0;
      b->msgs[k].msg_len = 0;
    }
    do r = recvmmsg(fd, b->msgs.get(), static_cast<unsigned>(max), MSG_DONTWAIT | MSG_TRUNC, nullptr);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      int err = errno;
      if (err != EAGAIN && err != EWOULDBLOCK) {
        ThrowErrno(env, err, "recvmmsg", "receive from UDP fd " + std::to_string(fd));
        return nullptr;
      }
      r = 0;
    }
  }
  for (int k = 0; k < r; k++) {
    b->off[k] = static_cast<uint32_t>(b->DataStart(k));
    b->len[k] = b->msgs[k].msg_len;
    b->addr[k] = ntohl(b->names[k].sin_addr.s_addr);
    b->port[k] = ntohs(b->names[k].sin_port);
  }
  napi_value out;
  napi_create_uint32(env, static_cast<uint32_t>(r), &out);
  return out;
}

// rawOpen(sndbuf) -> fd: socket(AF_INET, SOCK_RAW, IPPROTO_RAW) (header included),
// non-blocking, close-on-exec, send buffer per SetBuffer.
napi_value JsRawOpen(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GetArgs(env, info, argv);
  uint32_t sndbuf;
  if (!ArgU32(env, argv[0], "sndbuf", 0xffffffffu, &sndbuf)) return nullptr;
  int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) {
    int err = errno;
    ThrowErrno(env, err, "socket", "rawOpen", err == EPERM || err == EACCES ? "raw socket needs CAP_NET_RAW" : nullptr);
    return nullptr;
  }
  int err = SetBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf);
  if (err != 0) {
    close(fd);
    ThrowErrno(env, err, "setsockopt", "rawOpen: set send buffer " + std::to_string(sndbuf));
    return nullptr;
  }
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

struct SendOptions {
  uint32_t srcIp, dstPort, ttl;
  bool udpChecksum;
};

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
  uint8_t* ip = p - kHeaders;
  uint8_t* udp = p - 8;
  ip[0] = 0x45;
  ip[1] = tos;
  Put16(ip + 2, kHeaders + len);
  Put16(ip + 4, 0);  // ID 0: the kernel picks one for IP_HDRINCL
  Put16(ip + 6, 0);  // flags and fragment offset: DF clear
  ip[8] = static_cast<uint8_t>(o.ttl);
  ip[9] = IPPROTO_UDP;
  Put16(ip + 10, 0);
  Put32(ip + 12, o.srcIp);
  Put32(ip + 16, dst);
  Put16(ip + 10, static_cast<uint16_t>(~OnesSum16(ip, 20)));
  Put16(udp, srcPort);
  Put16(udp + 2, o.dstPort);
  Put16(udp + 4, 8 + len);
  Put16(udp + 6, 0);
  if (o.udpChecksum) {
    uint16_t c = static_cast<uint16_t>(~OnesAdd(OnesSum16(udp, 8 + len), PseudoSum(o.srcIp, dst, IPPROTO_UDP, 8 + len)));
    Put16(udp + 6, c == 0 ? 0xffff : c);
  }
}

// udpSend(fd, batch, n, want, options) -> sent. For packets i < n with verdict[i] == want:
// checks (all first, RangeError naming the index) off[i] >= 28, off[i]+len[i] inside bytes
// and len[i]+28 <= 65535; writes IPv4+UDP headers into bytes[off[i]-28, off[i]); sendmmsg
// to addr[i]. EINTR is retried; EAGAIN/ENOBUFS end the batch; any other per-packet error
// skips that packet. Kernel refusals are never thrown (a bad fd is).
napi_value JsUdpSend(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  GetArgs(env, info, argv);
  int fd;
  uint32_t n, want;
  SendOptions o;
  if (!ArgFd(env, argv[0], "fd", &fd)) return nullptr;
  Batch* b = UnwrapBatch(env, argv[1]);
  if (!b || !ArgU32(env, argv[2], "n", b->capacity, &n) || !ArgU32(env, argv[3], "want", 0xff, &want) ||
      !ArgSendOptions(env, argv[4], &o))
    return nullptr;
  uint32_t count = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (b->verdict[i] != want) continue;
    uint32_t off = b->off[i], len = b->len[i];
    const char* bad = off < kHeaders                                      ? "leaves no room for the 28-byte IPv4+UDP headers"
                      : off > b->bytesLen || len > b->bytesLen - off      ? "exceeds the bytes array"
                      : len > 65535 - kHeaders                            ? "is too long for one IPv4 datagram (len + 28 > 65535)"
                                                                          : nullptr;
    if (bad) {
      ThrowRangeError(env, "packet " + std::to_string(i) + " (off " + std::to_string(off) + ", len " +
                               std::to_string(len) + ", bytes length " + std::to_string(b->bytesLen) + ") " + bad);
      return nullptr;
    }
    b->index[count++] = i;
  }
  for (uint32_t k = 0; k < count; k++) {
    uint32_t i = b->index[k];
    uint8_t* p = b->bytes + b->off[i];
    WriteHeaders(p, b->len[i], b->tos[i], b->addr[i], b->port[i], o);
    sockaddr_in& sa = b->names[k];
    sa = sockaddr_in{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(b->addr[i]);
    b->iov[k].iov_base = p - kHeaders;
    b->iov[k].iov_len = b->len[i] + kHeaders;
    msghdr& h = b->msgs[k].msg_hdr;
    h = msghdr{};
    h.msg_name = &sa;
    h.msg_namelen = sizeof(sa);
    h.msg_iov = &b->iov[k];
    h.msg_iovlen = 1;
  }
  uint32_t k = 0, sent = 0;
  while (k < count) {
    int r = sendmmsg(fd, b->msgs.get() + k, std::min(count - k, kMaxMmsg), MSG_DONTWAIT);
    if (r > 0) {
      sent += static_cast<uint32_t>(r);
      k += static_cast<uint32_t>(r);
      continue;
    }
    int err = r < 0 ? errno : EAGAIN;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) break;
    if (err == EBADF || err == ENOTSOCK || err == EFAULT) {
      ThrowErrno(env, err, "sendmmsg", "send on raw fd " + std::to_string(fd));
      return nullptr;
    }
    k++;  // this packet was refused (EMSGSIZE, ENETUNREACH, EHOSTUNREACH, EPERM ...): skip it
  }
  napi_value out;
  napi_create_uint32(env, sent, &out);
  return out;
}

}  // namespace

void InitUdp(Napi::Env env, Napi::Object exports) {
  SetFunction(env, exports, "udpOpen", JsUdpOpen);
  SetFunction(env, exports, "udpRecv", JsUdpRecv);
  SetFunction(env, exports, "rawOpen", JsRawOpen);
  SetFunction(env, exports, "udpSend", JsUdpSend);
}

}  // namespace vxtun
