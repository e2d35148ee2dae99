// SPDX-License-Identifier: Apache-2.0
// The UDP side: a bound UDP socket received with recvmmsg, and the raw IPv4 socket the
// send side (udp_send.cc) uses.
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
#include "offload.h"
#include "udp.h"

namespace vxtun {

int SetBuffer(int fd, int forceOpt, int opt, uint32_t size) {
  if (size == 0) return 0;
  int v = static_cast<int>(std::min<uint32_t>(size, 0x7fffffff));
  if (setsockopt(fd, SOL_SOCKET, forceOpt, &v, sizeof(v)) == 0) return 0;
  if (errno != EPERM) return errno;
  return setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) == 0 ? 0 : errno;
}

namespace {

constexpr uint32_t kMaxMmsg = 1024;      // UIO_MAXIOV: the kernel's vlen cap for sendmmsg/recvmmsg

std::string IpText(uint32_t hostOrder) {
  in_addr a{htonl(hostOrder)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof(buf));
  return buf;
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

// udpRecv(fd, batch, max, gro?) -> n. One recvmmsg(MSG_DONTWAIT | MSG_TRUNC) of up to
// min(max, capacity) datagrams, message i into slot i at headroom; sets off, len (the real
// datagram length, which exceeds slotSize - headroom when it was truncated), addr and
// port (the sender, host order). EAGAIN gives 0, EINTR is retried, other errors throw.
// With a GRO handle (UDP_GRO on), coalesced messages are split: see UdpRecvGro.
napi_value JsUdpRecv(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  GetArgs(env, info, argv);
  int fd;
  size_t max;
  if (!ArgFd(env, argv[0], "fd", &fd)) return nullptr;
  Batch* b = UnwrapBatch(env, argv[1]);
  if (!b || !ArgSize(env, argv[2], "max", &max)) return nullptr;
  max = std::min<size_t>({max, b->capacity, kMaxMmsg});
  if (!IsUndefined(env, argv[3])) {
    UdpGro* st = UnwrapUdpGro(env, argv[3], "gro");
    return st ? UdpRecvGro(env, fd, b, max, st) : nullptr;
  }
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

}  // namespace

void InitUdp(Napi::Env env, Napi::Object exports) {
  SetFunction(env, exports, "udpOpen", JsUdpOpen);
  SetFunction(env, exports, "udpRecv", JsUdpRecv);
  SetFunction(env, exports, "rawOpen", JsRawOpen);
  SetFunction(env, exports, "udpSend", JsUdpSend);
}

}  // namespace vxtun
