// SPDX-License-Identifier: Apache-2.0
// close(2) for the descriptors the addon hands out.
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "addon.h"
#include "args.h"

namespace vxtun {
namespace {

// close(fd): close(2); failures throw (EINTR counts as closed: Linux releases the fd anyway).
// Stop any poll on fd first.
napi_value JsClose(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GetArgs(env, info, argv);
  int fd;
  if (!ArgFd(env, argv[0], "fd", &fd)) return nullptr;
  if (close(fd) < 0 && errno != EINTR) ThrowErrno(env, errno, "close", "close fd " + std::to_string(fd));
  return nullptr;
}

// socketPair() -> [fd, fd]: a connected AF_UNIX SOCK_SEQPACKET pair, non-blocking and
// close-on-exec, send buffers raised to 4 MiB where permitted. A test hook: each write()
// is one record and each read() returns one, so one end stands in for a TUN's fd (with
// crafted virtio_net_hdr packets) while the test drives the other with fs.readSync/writeSync.
napi_value JsSocketPair(napi_env env, napi_callback_info info) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
    ThrowErrno(env, errno, "socketpair", "socketPair");
    return nullptr;
  }
  for (int fd : sv) {
    int size = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
  napi_value out, a, b;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, sv[0], &a);
  napi_create_int32(env, sv[1], &b);
  napi_set_element(env, out, 0, a);
  napi_set_element(env, out, 1, b);
  return out;
}

}  // namespace

void InitFd(Napi::Env env, Napi::Object exports) {
  SetFunction(env, exports, "close", JsClose);
  SetFunction(env, exports, "socketPair", JsSocketPair);
}

}  // namespace vxtun
