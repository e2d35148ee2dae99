// SPDX-License-Identifier: Apache-2.0
// close(2) for the descriptors the addon hands out.
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

}  // namespace

void InitFd(Napi::Env env, Napi::Object exports) { SetFunction(env, exports, "close", JsClose); }

}  // namespace vxtun
