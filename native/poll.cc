// SPDX-License-Identifier: Apache-2.0
// Readability watchers (uv_poll_t) on the env's event loop.
//
// Lifetime: a Poll lives in its env's AddonData::polls from pollStart until pollStop (or the
// env cleanup hook) stops it; it is then uv_close()d and freed in the close callback. The JS
// handle holds only the poll's id, so a stale or repeated pollStop finds nothing to do, and
// dropping the handle without pollStop keeps the poll (and the loop) alive, like a timer.
#include <uv.h>

#include <string>

#include "addon.h"
#include "args.h"

namespace vxtun {

struct Poll {
  uv_poll_t handle;
  napi_env env = nullptr;
  AddonData* data = nullptr;
  napi_ref cb = nullptr;
  napi_async_context ctx = nullptr;
  int fd = -1;
  bool stopping = false;     // pollStop ran (or the env is tearing down)
  bool inCallback = false;   // cb is on the stack: JS references are released after it returns
};

namespace {

constexpr napi_type_tag kPollTag = {0x767874756e506f6cULL, 0x6c3a76315d2e9b07ULL};

void ReleaseJs(Poll* p) {
  if (p->cb) napi_delete_reference(p->env, p->cb);
  if (p->ctx) napi_async_destroy(p->env, p->ctx);
  p->cb = nullptr;
  p->ctx = nullptr;
}

void OnClosed(uv_handle_t* h) {
  Poll* p = static_cast<Poll*>(h->data);
  AddonData* data = p->data;
  delete p;
  if (--data->closing == 0) {
    if (data->teardown) {
      napi_async_cleanup_hook_handle t = data->teardown;
      data->teardown = nullptr;
      napi_remove_async_cleanup_hook(t);
    }
    MaybeFreeAddonData(data);
  }
}

void OnReadable(uv_poll_t* h, int status, int events) {
  Poll* p = static_cast<Poll*>(h->data);
  if (p->stopping || !p->cb) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, result;
  // An error status (e.g. the fd broke) still calls cb: the JS side meets the error on read.
  // napi_make_callback needs an object receiver: cb is called with globalThis as `this`.
  if (napi_get_reference_value(env, p->cb, &cb) == napi_ok && cb && napi_get_global(env, &recv) == napi_ok) {
    p->inCallback = true;
    napi_status s = napi_make_callback(env, p->ctx, recv, cb, 0, nullptr, &result);
    p->inCallback = false;
    if (s == napi_pending_exception) {
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
  }
  if (p->stopping) ReleaseJs(p);
  napi_close_handle_scope(env, scope);
}

// Stops a poll (no callback after this returns) and closes it; safe from inside its own
// callback. Unknown ids (already stopped) are ignored.
void StopPoll(AddonData* data, uint64_t id) {
  auto it = data->polls.find(id);
  if (it == data->polls.end()) return;
  Poll* p = it->second;
  data->polls.erase(it);
  p->stopping = true;
  uv_poll_stop(&p->handle);
  if (!p->inCallback) ReleaseJs(p);
  data->closing++;
  uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), OnClosed);
}

// pollStart(fd, cb) -> NativePoll: calls cb() (via MakeCallback, so microtasks and
// nextTicks run after it) each time fd is readable, until pollStop.
napi_value JsPollStart(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GetArgs(env, info, argv);
  int fd;
  if (!ArgFd(env, argv[0], "fd", &fd)) return nullptr;
  napi_valuetype t;
  if (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    ThrowTypeError(env, "cb must be a function");
    return nullptr;
  }
  AddonData* data = GetAddonData(env);
  uv_loop_t* loop;
  if (!data || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    Napi::Error::New(env, "pollStart: no event loop").ThrowAsJavaScriptException();
    return nullptr;
  }
  Poll* p = new Poll();
  p->env = env;
  p->data = data;
  p->fd = fd;
  p->handle.data = p;
  int r = uv_poll_init(loop, &p->handle, fd);
  if (r < 0) {
    delete p;  // uv_poll_init failed: the handle is not registered with the loop
    std::string hint = r == UV_EEXIST ? "fd " + std::to_string(fd) + " is already watched by another poll" : "";
    ThrowErrno(env, -r, "uv_poll_init", "pollStart on fd " + std::to_string(fd), hint.empty() ? nullptr : hint.c_str());
    return nullptr;
  }
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "vxtun:poll", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[1], 1, &p->cb) != napi_ok ||
      napi_async_init(env, resource, name, &p->ctx) != napi_ok) {
    ReleaseJs(p);
    data->closing++;
    uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), OnClosed);
    Napi::Error::New(env, "pollStart: cannot set up the callback").ThrowAsJavaScriptException();
    return nullptr;
  }
  r = uv_poll_start(&p->handle, UV_READABLE, OnReadable);
  uint64_t id = data->nextPollId++;
  data->polls.emplace(id, p);
  if (r < 0) {
    StopPoll(data, id);
    ThrowErrno(env, -r, "uv_poll_start", "pollStart on fd " + std::to_string(fd));
    return nullptr;
  }
  napi_value ext;
  if (napi_create_external(env, reinterpret_cast<void*>(static_cast<uintptr_t>(id)), nullptr, nullptr, &ext) != napi_ok) {
    StopPoll(data, id);
    Napi::Error::New(env, "pollStart: cannot create the handle").ThrowAsJavaScriptException();
    return nullptr;
  }
  napi_type_tag_object(env, ext, &kPollTag);
  return ext;
}

// pollStop(poll): stops and frees the poll; a poll already stopped is a no-op.
napi_value JsPollStop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GetArgs(env, info, argv);
  napi_valuetype t;
  bool tagged = false;
  void* raw = nullptr;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, argv[0], &kPollTag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, argv[0], &raw) != napi_ok) {
    ThrowTypeError(env, "poll must be a NativePoll returned by pollStart");
    return nullptr;
  }
  if (AddonData* data = GetAddonData(env)) StopPoll(data, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(raw)));
  return nullptr;
}

}  // namespace

void StopAllPolls(AddonData* data) {
  while (!data->polls.empty()) StopPoll(data, data->polls.begin()->first);
}

void InitPoll(Napi::Env env, Napi::Object exports) {
  SetFunction(env, exports, "pollStart", JsPollStart);
  SetFunction(env, exports, "pollStop", JsPollStop);
}

}  // namespace vxtun
