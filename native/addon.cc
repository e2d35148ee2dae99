// SPDX-License-Identifier: Apache-2.0
// Module entry: the per-env state, its teardown, and the exports of every source file.
#include <napi.h>

#include "addon.h"

namespace vxtun {

AddonData* GetAddonData(napi_env env) {
  void* data = nullptr;
  return napi_get_instance_data(env, &data) == napi_ok ? static_cast<AddonData*>(data) : nullptr;
}

// Frees the state once both the instance data finalizer ran and no close callback is pending
// (the env's finalizer can run before the loop delivers the last uv_close callbacks).
void MaybeFreeAddonData(AddonData* data) {
  if (data->finalized && data->closing == 0) delete data;
}

namespace {

void FinalizeAddonData(napi_env /*env*/, void* raw, void* /*hint*/) {
  AddonData* data = static_cast<AddonData*>(raw);
  // The cleanup hook runs first and has stopped every poll; should one remain, stop it now
  // so no uv callback can reach freed state.
  if (!data->polls.empty()) StopAllPolls(data);
  data->finalized = true;
  MaybeFreeAddonData(data);
}

// Env teardown (process exit, worker termination): stop every poll; the hook completes
// once their uv_close callbacks have run.
void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  AddonData* data = static_cast<AddonData*>(arg);
  StopAllPolls(data);
  if (data->closing == 0)
    napi_remove_async_cleanup_hook(handle);
  else
    data->teardown = handle;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  AddonData* data = new AddonData();
  if (napi_set_instance_data(env, data, FinalizeAddonData, nullptr) != napi_ok) {
    delete data;
    Napi::Error::New(env, "vxtun: cannot set instance data").ThrowAsJavaScriptException();
    return exports;
  }
  napi_add_async_cleanup_hook(env, OnEnvCleanup, data, nullptr);
  InitChecksum(env, exports);
  InitBatch(env, exports);
  InitTun(env, exports);
  InitUdp(env, exports);
  InitPoll(env, exports);
  InitFd(env, exports);
  InitOffload(env, exports);
  return exports;
}

}  // namespace vxtun

static Napi::Object InitVxtun(Napi::Env env, Napi::Object exports) { return vxtun::Init(env, exports); }

NODE_API_MODULE(vxtun, InitVxtun)
