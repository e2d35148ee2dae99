// SPDX-License-Identifier: Apache-2.0
// The TUN device (open, batched read/write) and link settings by ioctl (no shelling out).
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "batch.h"
#include "offload.h"
#include "partial_csum.h"
#include "vnet.h"

namespace vxtun {

// "read from TUN vxt0 (fd 7)" when TUNGETIFF knows the device, else "read from TUN fd 7".
std::string TunWhat(const char* verb, int fd) {
  ifreq ifr{};
  std::string fdText = "fd " + std::to_string(fd);
  if (ioctl(fd, TUNGETIFF, &ifr) == 0 && ifr.ifr_name[0] != '\0')
    return std::string(verb) + " TUN " + std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ)) + " (" + fdText + ")";
  return std::string(verb) + " TUN " + fdText;
}

namespace {

// A link name: a string of 1..IFNAMSIZ-1 bytes (0 allowed with allowEmpty) without NUL.
bool ArgIfName(napi_env env, napi_value v, const char* name, std::string* out, bool allowEmpty) {
  if (!ArgString(env, v, name, out)) return false;
  if (out->find('\0') != std::string::npos) {
    ThrowRangeError(env, std::string(name) + " must not contain a NUL character");
    return false;
  }
  if (out->size() >= IFNAMSIZ || (!allowEmpty && out->empty())) {
    ThrowRangeError(env, std::string(name) + " '" + *out + "' must be 1.." + std::to_string(IFNAMSIZ - 1) +
                             " bytes (got " + std::to_string(out->size()) + ")");
    return false;
  }
  return true;
}

// tunOpen(name, {vnetHdr, multiQueue}) -> {fd, name}. Opens /dev/net/tun non-blocking and
// close-on-exec and attaches it (TUNSETIFF, IFF_TUN|IFF_NO_PI) to `name`, creating the
// device if needed; a template like 'vx%d' gets a kernel-chosen name, which is returned.
napi_value JsTunOpen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GetArgs(env, info, argv);
  std::string name;
  if (!ArgIfName(env, argv[0], "name", &name, true)) return nullptr;
  bool vnetHdr = false, multiQueue = false;
  if (!IsUndefined(env, argv[1])) {
    if (!IsObject(env, argv[1])) {
      ThrowTypeError(env, "options must be an object");
      return nullptr;
    }
    napi_value v;
    if (GetProp(env, argv[1], "vnetHdr", &v) && !IsUndefined(env, v) && !ArgBool(env, v, "options.vnetHdr", &vnetHdr))
      return nullptr;
    if (GetProp(env, argv[1], "multiQueue", &v) && !IsUndefined(env, v) &&
        !ArgBool(env, v, "options.multiQueue", &multiQueue))
      return nullptr;
  }
  std::string what = "tunOpen " + (name.empty() ? std::string("(kernel-named)") : name);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    const char* hint = err == ENOENT   ? "TUN support missing: /dev/net/tun not found (load the tun module)"
                       : err == ENXIO || err == ENODEV ? "TUN support missing: /dev/net/tun has no driver (load the tun module)"
                       : (err == EACCES || err == EPERM) ? "cannot open /dev/net/tun: needs CAP_NET_ADMIN or access to the device node"
                                                         : nullptr;
    ThrowErrno(env, err, "open", what + ": open /dev/net/tun", hint);
    return nullptr;
  }
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnetHdr ? IFF_VNET_HDR : 0) | (multiQueue ? IFF_MULTI_QUEUE : 0);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    std::string hint;
    if (err == EPERM || err == EACCES)
      hint = "needs CAP_NET_ADMIN";
    else if (err == EINVAL && (name.empty() || if_nametoindex(name.c_str()) == 0))
      hint = "invalid device name or flags (no device named '" + name + "' exists)";
    else if (err == EBUSY || err == EINVAL)
      hint = "a device named " + name +
             " already exists and is not a TUN we can attach to (another kind of link, a TAP, a TUN busy on another "
             "fd, or one with different multiQueue/vnetHdr flags)";
    ThrowErrno(env, err, "ioctl(TUNSETIFF)", what, hint.empty() ? nullptr : hint.c_str());
    return nullptr;
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("fd", Napi::Number::New(env, fd));
  r.Set("name", Napi::String::New(env, std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ))));
  return r;
}

// tunRead(fd, batch, max, offload?) -> n. read() into slot i at i*slotSize+headroom (room
// slotSize-headroom) for i < min(max, capacity), stopping at EAGAIN; sets off[i], len[i].
// EINTR is retried. Any other error is thrown if nothing was read yet, else the packets read
// so far are returned (the next call meets the error again). With an offload handle (a TUN
// opened with vnetHdr) each read carries a virtio_net_hdr: see TunReadVnet.
napi_value JsTunRead(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  GetArgs(env, info, argv);
  int fd;
  size_t max;
  if (!ArgFd(env, argv[0], "fd", &fd)) return nullptr;
  Batch* b = UnwrapBatch(env, argv[1]);
  if (!b || !ArgSize(env, argv[2], "max", &max)) return nullptr;
  if (max > b->capacity) max = b->capacity;
  if (!IsUndefined(env, argv[3])) {
    TunOffload* st = UnwrapTunOffload(env, argv[3], "offload");
    return st ? TunReadVnet(env, fd, b, max, st) : nullptr;
  }
  uint32_t i = 0;
  while (i < max) {
    size_t at = b->DataStart(i);
    ssize_t r = read(fd, b->bytes + at, b->Room());
    if (r < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      if (i > 0) break;
      ThrowErrno(env, err, "read", TunWhat("read from", fd));
      return nullptr;
    }
    if (r == 0) break;  // not expected from a TUN; never loop on it
    b->off[i] = static_cast<uint32_t>(at);
    b->len[i] = static_cast<uint32_t>(r);
    i++;
  }
  napi_value out;
  napi_create_uint32(env, i, &out);
  return out;
}

// Writes an oversize TCP packet (PlanOversizeTcp) to a TUN without virtio headers as the
// MTU-sized segments the kernel would have cut it into (WriteSegment), each with its own
// write(). True when every segment was taken. The segment buffer grows once, to the
// largest MTU seen, and is reused.
bool WriteCutTcp(int fd, const GsoPlan& plan, const uint8_t* p) {
  thread_local std::vector<uint8_t> seg;
  if (seg.size() < static_cast<size_t>(plan.hdrLen) + plan.gsoSize) seg.resize(static_cast<size_t>(plan.hdrLen) + plan.gsoSize);
  bool all = true;
  for (uint32_t i = 0; i < plan.count; i++) {
    const uint32_t len = WriteSegment(plan, p, i, seg.data());
    ssize_t r;
    do r = write(fd, seg.data(), len);
    while (r < 0 && errno == EINTR);
    if (r < 0) all = false;
  }
  return all;
}

// tunWrite(fd, batch, n, want, offload?, finished?, mtu?) -> written. One write() per
// packet i < n with verdict[i] == want. Every selected packet must lie inside bytes
// (RangeError naming the index, before any write). Before it is written, a packet whose L4
// checksum a sender left as a partial sum is finished in place (FinishLeakedChecksum), and
// finished[0] (a Float64Array, when given) grows by one. Write failures (EAGAIN included)
// are skipped and not counted; EINTR is retried. With an offload handle, TCP (and with
// USO, UDP) runs are coalesced: see TunWriteVnet. Without one, `mtu` (the TUN's MTU; 0 or
// absent: unknown) lets an oversize TCP packet that PlanOversizeTcp accepts be cut into
// segments here (WriteCutTcp); finished[1], when finished has two elements, counts those.
napi_value JsTunWrite(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  GetArgs(env, info, argv);
  int fd;
  uint32_t n, want;
  if (!ArgFd(env, argv[0], "fd", &fd)) return nullptr;
  Batch* b = UnwrapBatch(env, argv[1]);
  if (!b || !ArgU32(env, argv[2], "n", b->capacity, &n) || !ArgU32(env, argv[3], "want", 0xff, &want)) return nullptr;
  double* finished = nullptr;
  size_t finishedLen = 0;
  if (!IsUndefined(env, argv[5])) {
    if (!ArgTyped(env, argv[5], "finished", napi_float64_array, "Float64Array", reinterpret_cast<void**>(&finished), &finishedLen))
      return nullptr;
    if (finishedLen < 1) {
      ThrowRangeError(env, "finished must have at least 1 element");
      return nullptr;
    }
  }
  for (uint32_t i = 0; i < n; i++) {
    if (b->verdict[i] != want) continue;
    if (b->off[i] > b->bytesLen || b->len[i] > b->bytesLen - b->off[i]) {
      ThrowRangeError(env, "packet " + std::to_string(i) + ": off " + std::to_string(b->off[i]) + " + len " +
                               std::to_string(b->len[i]) + " exceeds bytes length " + std::to_string(b->bytesLen));
      return nullptr;
    }
  }
  TunOffload* st = nullptr;
  if (!IsUndefined(env, argv[4]) && !(st = UnwrapTunOffload(env, argv[4], "offload"))) return nullptr;
  uint32_t plainMtu = 0;
  if (!IsUndefined(env, argv[6]) && !ArgU32(env, argv[6], "mtu", 65535, &plainMtu)) return nullptr;
  // Every argument is good: only now are packets touched.
  uint32_t fixed = 0;
  // (A TCP packet over the MTU is left to the cut below or to TunWriteVnet, which has the
  // kernel cut it: either needs its checksum field still holding the pseudo-header sum.)
  const uint32_t mtu = st != nullptr ? st->mtu : plainMtu;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t* p = b->bytes + b->off[i];
    if (b->verdict[i] != want || (mtu != 0 && b->len[i] > mtu && p[9] == 6)) continue;
    if (FinishLeakedChecksum(p, b->len[i])) fixed++;
  }
  if (finished != nullptr) finished[0] += fixed;
  if (st != nullptr) return TunWriteVnet(env, fd, b, n, want, st);
  uint32_t written = 0, cut = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (b->verdict[i] != want) continue;
    GsoPlan plan;
    if (mtu != 0 && b->len[i] > mtu && PlanOversizeTcp(b->bytes + b->off[i], b->len[i], mtu, &plan)) {
      if (WriteCutTcp(fd, plan, b->bytes + b->off[i])) written++;
      cut++;
      continue;
    }
    ssize_t r;
    do r = write(fd, b->bytes + b->off[i], b->len[i]);
    while (r < 0 && errno == EINTR);
    if (r >= 0) written++;
  }
  if (finished != nullptr && finishedLen >= 2) finished[1] += cut;
  napi_value out;
  napi_create_uint32(env, written, &out);
  return out;
}

// Runs one interface ioctl on a throwaway AF_INET datagram socket; on failure throws an
// error naming the link and returns false.
bool LinkIoctl(napi_env env, unsigned long req, const char* reqName, ifreq* ifr, const std::string& what) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    ThrowErrno(env, errno, "socket", what + ": socket(AF_INET, SOCK_DGRAM)");
    return false;
  }
  int r = ioctl(s, req, ifr);
  int err = errno;
  close(s);
  if (r < 0) {
    std::string name(ifr->ifr_name, strnlen(ifr->ifr_name, IFNAMSIZ));
    std::string hint = err == ENODEV ? "no such interface: " + name
                       : err == EPERM || err == EACCES ? std::string("needs CAP_NET_ADMIN")
                                                        : std::string();
    ThrowErrno(env, err, reqName, what, hint.empty() ? nullptr : hint.c_str());
    return false;
  }
  return true;
}

// linkSetMtu(name, mtu): SIOCSIFMTU. mtu is an integer in 0..2^31-1; the kernel checks the link's range.
napi_value JsLinkSetMtu(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GetArgs(env, info, argv);
  std::string name;
  uint32_t mtu;
  if (!ArgIfName(env, argv[0], "name", &name, false) || !ArgU32(env, argv[1], "mtu", 0x7fffffff, &mtu)) return nullptr;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_mtu = static_cast<int>(mtu);
  LinkIoctl(env, SIOCSIFMTU, "ioctl(SIOCSIFMTU)", &ifr, "set MTU " + std::to_string(mtu) + " on " + name);
  return nullptr;
}

// linkSetUp(name): SIOCGIFFLAGS, then SIOCSIFFLAGS with IFF_UP added.
napi_value JsLinkSetUp(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GetArgs(env, info, argv);
  std::string name;
  if (!ArgIfName(env, argv[0], "name", &name, false)) return nullptr;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  std::string what = "set link " + name + " up";
  if (!LinkIoctl(env, SIOCGIFFLAGS, "ioctl(SIOCGIFFLAGS)", &ifr, what)) return nullptr;
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  LinkIoctl(env, SIOCSIFFLAGS, "ioctl(SIOCSIFFLAGS)", &ifr, what);
  return nullptr;
}

// linkGetMtu(name) -> mtu: SIOCGIFMTU.
napi_value JsLinkGetMtu(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GetArgs(env, info, argv);
  std::string name;
  if (!ArgIfName(env, argv[0], "name", &name, false)) return nullptr;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (!LinkIoctl(env, SIOCGIFMTU, "ioctl(SIOCGIFMTU)", &ifr, "get MTU of " + name)) return nullptr;
  napi_value out;
  napi_create_uint32(env, static_cast<uint32_t>(ifr.ifr_mtu), &out);
  return out;
}

}  // namespace

void InitTun(Napi::Env env, Napi::Object exports) {
  SetFunction(env, exports, "tunOpen", JsTunOpen);
  SetFunction(env, exports, "tunRead", JsTunRead);
  SetFunction(env, exports, "tunWrite", JsTunWrite);
  SetFunction(env, exports, "linkSetMtu", JsLinkSetMtu);
  SetFunction(env, exports, "linkSetUp", JsLinkSetUp);
  SetFunction(env, exports, "linkGetMtu", JsLinkGetMtu);
}

}  // namespace vxtun
