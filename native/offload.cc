// SPDX-License-Identifier: Apache-2.0
// The offload knobs and state handles: tunSetOffload (TUNSETOFFLOAD), udpSetGro
// (UDP_GRO), tunOffloadNew and udpGroNew.
#include "offload.h"

#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstdio>

#include "addon.h"
#include "args.h"
#include "udp.h"

namespace vxtun {
namespace {

constexpr napi_type_tag kTunOffloadTag = {0x767874756e4f6666ULL, 0x6c6f61643a763131ULL};
constexpr napi_type_tag kUdpGroTag = {0x7678747555647047ULL, 0x726f3a76315b7c2dULL};
constexpr napi_type_tag kUdpGsoTag = {0x767874755564704bULL, 0x67736f3a76317e11ULL};

// Pins `v` (a Float64Array of at least `need` elements) into *s; false after throwing.
bool PinStats(napi_env env, napi_value v, size_t need, StatsRef* s) {
  void* data;
  size_t length;
  if (!ArgTyped(env, v, "stats", napi_float64_array, "Float64Array", &data, &length)) return false;
  if (length < need) {
    ThrowRangeError(env, "stats.length " + std::to_string(length) + " must be at least " + std::to_string(need));
    return false;
  }
  s->count = need;
  if (napi_create_reference(env, v, 1, &s->ref) != napi_ok) {
    Napi::Error::New(env, "cannot reference the stats array").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

template <typename T>
void Finalize(napi_env env, void* data, void* /*hint*/) {
  T* st = static_cast<T*>(data);
  if (st->stats.ref) napi_delete_reference(env, st->stats.ref);
  delete st;
}

// Wraps st in an External tagged with `tag`; the External owns it from here on.
template <typename T>
napi_value Wrap(napi_env env, std::unique_ptr<T> st, const napi_type_tag* tag) {
  napi_value ext;
  if (napi_create_external(env, st.get(), Finalize<T>, nullptr, &ext) != napi_ok) {
    napi_delete_reference(env, st->stats.ref);
    Napi::Error::New(env, "cannot create the offload handle").ThrowAsJavaScriptException();
    return nullptr;
  }
  st.release();
  napi_type_tag_object(env, ext, tag);
  return ext;
}

template <typename T>
T* Unwrap(napi_env env, napi_value v, const napi_type_tag* tag, const char* name, const char* what) {
  napi_valuetype t;
  bool tagged = false;
  void* data = nullptr;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, tag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, v, &data) != napi_ok || data == nullptr) {
    ThrowTypeError(env, std::string(name) + " must be " + what);
    return nullptr;
  }
  return static_cast<T*>(data);
}

// tunSetOffload(fd, flags): TUNSETOFFLOAD. The kernel refuses unknown flags with EINVAL,
// which is how callers probe (USO needs Linux 6.2).
napi_value JsTunSetOffload(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GetArgs(env, info, argv);
  int fd;
  uint32_t flags;
  if (!ArgFd(env, argv[0], "fd", &fd) || !ArgU32(env, argv[1], "flags", 0xffff, &flags)) return nullptr;
  if (ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned long>(flags)) < 0) {
    int err = errno;
    char hex[16];
    std::snprintf(hex, sizeof(hex), "0x%x", flags);
    ThrowErrno(env, err, "ioctl(TUNSETOFFLOAD)", std::string("set offload flags ") + hex + " on" + TunWhat("", fd),
               err == EINVAL ? "the kernel does not support these offload flags" : nullptr);
  }
  return nullptr;
}

// tunOffloadNew(flags, stats, mtu = 0, coalesce = 3) -> handle. flags: the TUN_F_* bits the
// device accepted; mtu: the TUN's MTU (0: unknown, oversize TCP packets are then written as
// they are); coalesce: which flows tunWrite may merge, bit 1 TCP, bit 2 UDP (UDP also needs
// USO4 in flags).
napi_value JsTunOffloadNew(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  GetArgs(env, info, argv);
  auto st = std::make_unique<TunOffload>();
  uint32_t flags, mtu = 0, coalesce = 3;
  if (!ArgU32(env, argv[0], "flags", 0xffff, &flags)) return nullptr;
  if (!IsUndefined(env, argv[2]) && !ArgU32(env, argv[2], "mtu", kMaxIpPacket, &mtu)) return nullptr;
  if (!IsUndefined(env, argv[3]) && !ArgU32(env, argv[3], "coalesce", 3, &coalesce)) return nullptr;
  if (mtu != 0 && mtu < 68) {
    ThrowRangeError(env, "mtu must be 0 or in 68.." + std::to_string(kMaxIpPacket) + " (got " + std::to_string(mtu) + ")");
    return nullptr;
  }
  st->flags = flags;
  st->mtu = mtu;
  st->tcpGro = (coalesce & 1) != 0;
  st->udpGro = (flags & kTunFUso4) != 0 && (coalesce & 2) != 0;
  if (!PinStats(env, argv[1], kTunStatCount, &st->stats)) return nullptr;
  st->scratch.reset(new uint8_t[kVnetHdrLen + kMaxIpPacket]());
  st->iov.resize(GroPlanner::kMaxSegments + 1);
  return Wrap(env, std::move(st), &kTunOffloadTag);
}

// udpSetGro(fd, on) -> boolean: setsockopt(SOL_UDP, UDP_GRO); false when the kernel does
// not know the option (ENOPROTOOPT/EINVAL: older than 5.0), other failures throw.
napi_value JsUdpSetGro(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GetArgs(env, info, argv);
  int fd;
  bool on;
  if (!ArgFd(env, argv[0], "fd", &fd) || !ArgBool(env, argv[1], "on", &on)) return nullptr;
  int v = on ? 1 : 0;
  bool ok = setsockopt(fd, SOL_UDP, UDP_GRO, &v, sizeof(v)) == 0;
  if (!ok && errno != ENOPROTOOPT && errno != EINVAL) {
    ThrowErrno(env, errno, "setsockopt", "set UDP_GRO on fd " + std::to_string(fd));
    return nullptr;
  }
  napi_value out;
  napi_get_boolean(env, ok, &out);
  return out;
}

// udpGroNew(stats) -> handle for udpRecv on a socket with UDP_GRO on.
napi_value JsUdpGroNew(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GetArgs(env, info, argv);
  auto st = std::make_unique<UdpGro>();
  if (!PinStats(env, argv[0], kUdpStatCount, &st->stats)) return nullptr;
  return Wrap(env, std::move(st), &kUdpGroTag);
}

// udpGsoNew({srcIp, ttl, sockets}, stats) -> handle for udpSend: UDP_SEGMENT sockets per
// source port, opened on demand (at most `sockets`, default 64, least recently used closed).
napi_value JsUdpGsoNew(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GetArgs(env, info, argv);
  auto st = std::make_unique<UdpGso>();
  if (!IsObject(env, argv[0])) {
    ThrowTypeError(env, "options must be an object {srcIp, ttl, sockets?}");
    return nullptr;
  }
  napi_value v;
  uint32_t sockets = 64;
  if (!GetProp(env, argv[0], "srcIp", &v) || !ArgU32(env, v, "options.srcIp", 0xffffffffu, &st->srcIp) ||
      !GetProp(env, argv[0], "ttl", &v) || !ArgU32(env, v, "options.ttl", 0xff, &st->ttl))
    return nullptr;
  if (GetProp(env, argv[0], "sockets", &v) && !IsUndefined(env, v) && !ArgU32(env, v, "options.sockets", 4096, &sockets))
    return nullptr;
  if (st->srcIp == 0 || sockets == 0) {
    ThrowRangeError(env, "options.srcIp must be set and options.sockets at least 1");
    return nullptr;
  }
  st->capacity = sockets;
  if (!PinStats(env, argv[1], kGsoStatCount, &st->stats)) return nullptr;
  return Wrap(env, std::move(st), &kUdpGsoTag);
}

// udpGsoClose(handle): closes every socket now; later sends take the raw path.
napi_value JsUdpGsoClose(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GetArgs(env, info, argv);
  UdpGso* st = UnwrapUdpGso(env, argv[0], "gso");
  if (!st) return nullptr;
  st->CloseAll();
  st->disabled = true;
  if (double* stats = st->stats.Get(env)) stats[kGsoSockets] = 0;
  return nullptr;
}

}  // namespace

UdpGso* UnwrapUdpGso(napi_env env, napi_value v, const char* name) {
  return Unwrap<UdpGso>(env, v, &kUdpGsoTag, name, "a handle returned by udpGsoNew");
}

double* StatsRef::Get(napi_env env) const {
  napi_value v;
  napi_typedarray_type type;
  size_t length, byteOffset;
  void* data = nullptr;
  napi_value ab;
  if (napi_get_reference_value(env, ref, &v) != napi_ok || v == nullptr ||
      napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &byteOffset) != napi_ok || length < count ||
      data == nullptr) {
    ThrowTypeError(env, "offload stats array was detached or shrunk");
    return nullptr;
  }
  return static_cast<double*>(data);
}

TunOffload* UnwrapTunOffload(napi_env env, napi_value v, const char* name) {
  return Unwrap<TunOffload>(env, v, &kTunOffloadTag, name, "a handle returned by tunOffloadNew");
}

UdpGro* UnwrapUdpGro(napi_env env, napi_value v, const char* name) {
  return Unwrap<UdpGro>(env, v, &kUdpGroTag, name, "a handle returned by udpGroNew");
}

void InitOffload(Napi::Env env, Napi::Object exports) {
  SetFunction(env, exports, "tunSetOffload", JsTunSetOffload);
  SetFunction(env, exports, "tunOffloadNew", JsTunOffloadNew);
  SetFunction(env, exports, "udpSetGro", JsUdpSetGro);
  SetFunction(env, exports, "udpGroNew", JsUdpGroNew);
  SetFunction(env, exports, "udpGsoNew", JsUdpGsoNew);
  SetFunction(env, exports, "udpGsoClose", JsUdpGsoClose);
}

}  // namespace vxtun
