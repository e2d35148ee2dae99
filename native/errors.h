// SPDX-License-Identifier: Apache-2.0
// Error helpers shared by every native function.
//
// Contract: each helper throws a pending JavaScript exception on `env` and the caller
// must return at once (NAPI_DISABLE_CPP_EXCEPTIONS: nothing unwinds by itself).
// System errors follow Node's own convention for SystemError-like objects:
//   err.errno   = -errno (negative, as in fs/net errors; util.getSystemErrorName works)
//   err.code    = 'EADDRINUSE', ...
//   err.syscall = 'bind', 'ioctl(TUNSETIFF)', ...
//   err.message = "<what>: <hint or strerror> (<code>)"
#ifndef VXTUN_ERRORS_H_
#define VXTUN_ERRORS_H_

#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace vxtun {

// The symbolic name of a positive errno value ("EADDRINUSE"); "E<n>" when unknown.
inline std::string ErrnoCode(int err) {
  char buf[64];
  uv_err_name_r(-err, buf, sizeof(buf));
  if (std::strncmp(buf, "Unknown", 7) != 0) return buf;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (const char* name = strerrorname_np(err)) return name;
#endif
  return "E" + std::to_string(err);
}

// Throws Error("<what>: <hint or strerror(err)> (<CODE>)") with errno/code/syscall set.
inline void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& what,
                       const char* hint = nullptr) {
  std::string code = ErrnoCode(err);
  std::string msg = what + ": " + (hint ? std::string(hint) : std::string(std::strerror(err))) + " (" + code + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("code", Napi::String::New(env, code));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.ThrowAsJavaScriptException();
}

inline void ThrowTypeError(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
}

inline void ThrowRangeError(Napi::Env env, const std::string& msg) {
  Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
}

}  // namespace vxtun

#endif  // VXTUN_ERRORS_H_
