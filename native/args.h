// SPDX-License-Identifier: Apache-2.0
// Argument validation shared by every native function.
//
// Contract: each Arg* helper returns true and fills *out when the value is acceptable;
// otherwise it throws a TypeError (wrong type) or RangeError (bad value) whose message
// starts with the argument's name, and returns false. They use the C API directly so
// the checksum hot path pays for nothing it does not need.
#ifndef VXTUN_ARGS_H_
#define VXTUN_ARGS_H_

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "errors.h"

namespace vxtun {

// A number as JavaScript would print it, for messages.
inline std::string NumberText(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", d);
  return buf;
}

// An integer in [min, max] (both exactly representable doubles).
inline bool ArgInt(napi_env env, napi_value v, const char* name, double min, double max, double* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    ThrowTypeError(env, std::string(name) + " must be a number");
    return false;
  }
  if (!(d >= min && d <= max) || std::trunc(d) != d) {
    ThrowRangeError(env, std::string(name) + " must be an integer in " + NumberText(min) + ".." + NumberText(max) +
                             " (got " + NumberText(d) + ")");
    return false;
  }
  *out = d;
  return true;
}

inline bool ArgU32(napi_env env, napi_value v, const char* name, uint32_t max, uint32_t* out) {
  double d;
  if (!ArgInt(env, v, name, 0, max, &d)) return false;
  *out = static_cast<uint32_t>(d);
  return true;
}

// A length or offset into a buffer: a non-negative integer up to 2^53 - 1.
inline bool ArgSize(napi_env env, napi_value v, const char* name, size_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    ThrowTypeError(env, std::string(name) + " must be a number");
    return false;
  }
  if (!(d >= 0 && d <= 9007199254740991.0) || std::trunc(d) != d) {
    ThrowRangeError(env, std::string(name) + " must be a non-negative integer (got " + NumberText(d) + ")");
    return false;
  }
  *out = static_cast<size_t>(d);
  return true;
}

// A file descriptor: an integer in 0..INT32_MAX.
inline bool ArgFd(napi_env env, napi_value v, const char* name, int* out) {
  double d;
  if (!ArgInt(env, v, name, 0, 2147483647.0, &d)) return false;
  *out = static_cast<int>(d);
  return true;
}

// A typed array of exactly `want` element type; *data/*length describe its elements.
inline bool ArgTyped(napi_env env, napi_value v, const char* name, napi_typedarray_type want,
                     const char* typeName, void** data, size_t* length) {
  napi_typedarray_type type;
  napi_value ab;
  size_t byteOffset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &ab, &byteOffset) != napi_ok || type != want) {
    ThrowTypeError(env, std::string(name) + " must be a " + typeName);
    return false;
  }
  if (*length == 0) *data = nullptr;  // may be stale or null for empty/detached arrays
  return true;
}

// A Uint8Array (a Buffer is one).
inline bool ArgBytes(napi_env env, napi_value v, const char* name, uint8_t** data, size_t* length) {
  void* p;
  if (!ArgTyped(env, v, name, napi_uint8_array, "Uint8Array or Buffer", &p, length)) return false;
  *data = static_cast<uint8_t*>(p);
  return true;
}

// offset and length must describe a range inside a buffer of `have` bytes.
inline bool CheckRange(napi_env env, size_t offset, size_t length, size_t have, const char* offName = "offset",
                       const char* lenName = "length") {
  if (offset > have || length > have - offset) {
    ThrowRangeError(env, std::string(offName) + " " + std::to_string(offset) + " + " + lenName + " " +
                             std::to_string(length) + " exceeds buffer length " + std::to_string(have));
    return false;
  }
  return true;
}

// Arguments (buf, offset, length) from argv[0..2]: a Uint8Array and a range inside it;
// *start points at the range's first byte.
inline bool ArgBufferRange(napi_env env, const napi_value* argv, uint8_t** start, size_t* length) {
  uint8_t* data;
  size_t have, off;
  if (!ArgBytes(env, argv[0], "buf", &data, &have) || !ArgSize(env, argv[1], "offset", &off) ||
      !ArgSize(env, argv[2], "length", length) || !CheckRange(env, off, *length, have))
    return false;
  *start = data + off;
  return true;
}

// A string of UTF-8 bytes.
inline bool ArgString(napi_env env, napi_value v, const char* name, std::string* out) {
  size_t n;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &n) != napi_ok) {
    ThrowTypeError(env, std::string(name) + " must be a string");
    return false;
  }
  out->resize(n + 1);
  napi_get_value_string_utf8(env, v, out->data(), n + 1, &n);
  out->resize(n);
  return true;
}

inline bool ArgBool(napi_env env, napi_value v, const char* name, bool* out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    ThrowTypeError(env, std::string(name) + " must be a boolean");
    return false;
  }
  return true;
}

// A property of an options object (undefined when absent).
inline bool GetProp(napi_env env, napi_value obj, const char* key, napi_value* out) {
  return napi_get_named_property(env, obj, key, out) == napi_ok;
}

inline bool IsUndefined(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_undefined);
}

inline bool IsObject(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == napi_object;
}

// Reads up to N arguments; missing ones are undefined.
template <size_t N>
inline void GetArgs(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
}

// exports[name] = a function calling cb.
inline void SetFunction(Napi::Env env, Napi::Object exports, const char* name, napi_callback cb) {
  napi_value fn;
  NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn));
  exports.Set(name, Napi::Value(env, fn));
}

}  // namespace vxtun

#endif  // VXTUN_ARGS_H_
