// SPDX-License-Identifier: Apache-2.0
// Readability watchers (uv_poll_t) on the env's event loop.
//
// Lifetime: a Poll lives in its env's AddonData::polls from pollStart until pollStop (or the
// env cleanup hook) stops it; its two handles are then uv_close()d and it is freed in the
// last close callback. The JS handle holds only the poll's id, so a stale or repeated
// pollStop finds nothing to do, and dropping the handle without pollStop keeps the poll (and
// the loop) alive, like a timer.
//
// Kick: the addon may hold packets read from the fd but not yet handed out (a super-packet
// cut across batches), while the fd itself is no longer readable. pollKick arms the Poll's
// uv_idle handle, which calls the callback once on the next loop iteration. Unlike
// setImmediate this allocates nothing on the JS heap, so a busy daemon that kicks on every
// wake adds no garbage of its own.
#include <uv.h>

#include <string>

#include "addon.h"
#include "args.h"

namespace vxtun {

struct Poll {
  uv_poll_t handle;
  uv_idle_t kick;            // armed by pollKick: one callback on the next loop iteration
  int openHandles = 0;       // handles initialised and not yet closed (freed at 0)
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
  if (--p->openHandles == 0) delete p;
  if (--data->closing == 0) {
    if (data->teardown) {
      napi_async_cleanup_hook_handle t = data->teardown;
      data->teardown = nullptr;
      napi_remove_async_cleanup_hook(t);
    }
    MaybeFreeAddonData(data);
  }
}

// Closes every handle the poll initialised (OnClosed frees it after the last one).
void CloseHandles(Poll* p) {
  AddonData* data = p->data;
  uv_handle_t* handles[] = {reinterpret_cast<uv_handle_t*>(&p->handle), reinterpret_cast<uv_handle_t*>(&p->kick)};
  const int n = p->openHandles;
  for (int i = 0; i < n; i++) {
    data->closing++;
    uv_close(handles[i], OnClosed);
  }
}

void Fire(Poll* p) {
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

void OnReadable(uv_poll_t* h, int status, int events) {
  Fire(static_cast<Poll*>(h->data));
}

void OnKick(uv_idle_t* h) {
  uv_idle_stop(h);
  Fire(static_cast<Poll*>(h->data));
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
  uv_idle_stop(&p->kick);
  if (!p->inCallback) ReleaseJs(p);
  CloseHandles(p);
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
  p->kick.data = p;
  int r = uv_poll_init(loop, &p->handle, fd);
  if (r < 0) {
    delete p;  // uv_poll_init failed: the handle is not registered with the loop
    std::string hint = r == UV_EEXIST ? "fd " + std::to_string(fd) + " is already watched by another poll" : "";
    ThrowErrno(env, -r, "uv_poll_init", "pollStart on fd " + std::to_string(fd), hint.empty() ? nullptr : hint.c_str());
    return nullptr;
  }
  p->openHandles = 1;
  if (uv_idle_init(loop, &p->kick) == 0) p->openHandles = 2;
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "vxtun:poll", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[1], 1, &p->cb) != napi_ok ||
      napi_async_init(env, resource, name, &p->ctx) != napi_ok) {
    ReleaseJs(p);
    CloseHandles(p);
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

// The id a NativePoll handle carries; throws a TypeError for anything else.
bool ArgPollId(napi_env env, napi_value v, uint64_t* id) {
  napi_valuetype t;
  bool tagged = false;
  void* raw = nullptr;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, &kPollTag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, v, &raw) != napi_ok) {
    ThrowTypeError(env, "poll must be a NativePoll returned by pollStart");
    return false;
  }
  *id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(raw));
  return true;
}

// pollStop(poll): stops and frees the poll; a poll already stopped is a no-op.
napi_value JsPollStop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GetArgs(env, info, argv);
  uint64_t id;
  if (!ArgPollId(env, argv[0], &id)) return nullptr;
  if (AddonData* data = GetAddonData(env)) StopPoll(data, id);
  return nullptr;
}

// pollKick(poll): calls the poll's callback once on the next loop iteration, readable or
// not. Kicks before that call coalesce into it; a stopped poll ignores them.
napi_value JsPollKick(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GetArgs(env, info, argv);
  uint64_t id;
  if (!ArgPollId(env, argv[0], &id)) return nullptr;
  AddonData* data = GetAddonData(env);
  if (!data) return nullptr;
  auto it = data->polls.find(id);
  if (it == data->polls.end()) return nullptr;
  Poll* p = it->second;
  if (p->openHandles < 2) {
    Napi::Error::New(env, "pollKick: this poll has no idle handle").ThrowAsJavaScriptException();
    return nullptr;
  }
  if (!p->stopping && !uv_is_active(reinterpret_cast<uv_handle_t*>(&p->kick))) uv_idle_start(&p->kick, OnKick);
  return nullptr;
}

}  // namespace

void StopAllPolls(AddonData* data) {
  while (!data->polls.empty()) StopPoll(data, data->polls.begin()->first);
}

void InitPoll(Napi::Env env, Napi::Object exports) {
  SetFunction(env, exports, "pollStart", JsPollStart);
  SetFunction(env, exports, "pollStop", JsPollStop);
  SetFunction(env, exports, "pollKick", JsPollKick);
}

}  // namespace vxtun
