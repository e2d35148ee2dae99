// SPDX-License-Identifier: Apache-2.0
// Per-environment addon state and the Init* functions each source file provides.
#ifndef VXTUN_ADDON_H_
#define VXTUN_ADDON_H_

#include <napi.h>

#include <cstdint>
#include <unordered_map>

namespace vxtun {

struct Poll;

// One per napi_env (main thread or worker), stored as instance data.
struct AddonData {
  std::unordered_map<uint64_t, Poll*> polls;  // active polls by id (pollStop removes)
  uint64_t nextPollId = 1;
  size_t closing = 0;                           // uv_close calls whose callback has not run yet
  napi_async_cleanup_hook_handle teardown = nullptr;  // set once the env tears down
  bool finalized = false;                       // the instance data finalizer ran
};

AddonData* GetAddonData(napi_env env);

// Called by the instance data finalizer or the last close callback, whichever comes last.
void MaybeFreeAddonData(AddonData* data);

void InitChecksum(Napi::Env env, Napi::Object exports);  // checksum_js.cc: checksums, finishLeakedChecksum
void InitBatch(Napi::Env env, Napi::Object exports);
void InitTun(Napi::Env env, Napi::Object exports);
void InitUdp(Napi::Env env, Napi::Object exports);
void InitPoll(Napi::Env env, Napi::Object exports);
void InitFd(Napi::Env env, Napi::Object exports);
void InitOffload(Napi::Env env, Napi::Object exports);

// The env cleanup hook body (poll.cc): stops every poll of the env.
void StopAllPolls(AddonData* data);

}  // namespace vxtun

#endif  // VXTUN_ADDON_H_
