// SPDX-License-Identifier: Apache-2.0
// batchAttach: pins a PacketBatch's arrays and preallocates mmsg scratch for its slots.
#include "batch.h"

#include <cstring>
#include <string>

#include "addon.h"
#include "args.h"

namespace vxtun {
namespace {

// Tags the External so a foreign object (another External, a poll handle) is rejected.
constexpr napi_type_tag kBatchTag = {0x767874756e426174ULL, 0x63683a7631a5c3e1ULL};

const char* const kNames[Batch::kArrays] = {"bytes", "off", "len", "addr", "port", "tos", "verdict"};

void FinalizeBatch(napi_env env, void* data, void* /*hint*/) {
  Batch* b = static_cast<Batch*>(data);
  for (napi_ref& r : b->refs)
    if (r) napi_delete_reference(env, r);
  delete b;
}

// Re-reads the data pointers from the pinned arrays; false (with a TypeError) if one shrank.
bool Refresh(napi_env env, Batch* b) {
  void* ptrs[Batch::kArrays];
  for (int k = 0; k < Batch::kArrays; k++) {
    napi_value v;
    napi_typedarray_type type;
    size_t length, byteOffset;
    napi_value ab;
    if (napi_get_reference_value(env, b->refs[k], &v) != napi_ok || v == nullptr ||
        napi_get_typedarray_info(env, v, &type, &length, &ptrs[k], &ab, &byteOffset) != napi_ok ||
        length < b->counts[k] || (length > 0 && ptrs[k] == nullptr)) {
      ThrowTypeError(env, std::string("batch: its ") + kNames[k] + " array was detached or shrunk since batchAttach");
      return false;
    }
  }
  b->bytes = static_cast<uint8_t*>(ptrs[0]);
  b->off = static_cast<uint32_t*>(ptrs[1]);
  b->len = static_cast<uint32_t*>(ptrs[2]);
  b->addr = static_cast<uint32_t*>(ptrs[3]);
  b->port = static_cast<uint16_t*>(ptrs[4]);
  b->tos = static_cast<uint8_t*>(ptrs[5]);
  b->verdict = static_cast<uint8_t*>(ptrs[6]);
  return true;
}

// batchAttach(bytes, slotSize, headroom, off, len, addr, port, tos, verdict) -> NativeBatch.
// capacity = off.length (>= 1); len/addr/port/tos/verdict must have that length;
// bytes.length >= capacity * slotSize (<= 2^32); headroom < slotSize.
napi_value JsBatchAttach(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  GetArgs(env, info, argv);
  auto b = std::make_unique<Batch>();
  void* p[Batch::kArrays];
  size_t n[Batch::kArrays];
  uint8_t* bytes;
  if (!ArgBytes(env, argv[0], "bytes", &bytes, &n[0])) return nullptr;
  p[0] = bytes;
  if (!ArgU32(env, argv[1], "slotSize", 0xffffffffu, &b->slotSize) ||
      !ArgU32(env, argv[2], "headroom", 0xffffffffu, &b->headroom))
    return nullptr;
  if (b->slotSize == 0) {
    ThrowRangeError(env, "slotSize must be at least 1");
    return nullptr;
  }
  if (b->headroom >= b->slotSize) {
    ThrowRangeError(env, "headroom " + std::to_string(b->headroom) + " must be less than slotSize " +
                             std::to_string(b->slotSize));
    return nullptr;
  }
  if (!ArgTyped(env, argv[3], "off", napi_uint32_array, "Uint32Array", &p[1], &n[1]) ||
      !ArgTyped(env, argv[4], "len", napi_uint32_array, "Uint32Array", &p[2], &n[2]) ||
      !ArgTyped(env, argv[5], "addr", napi_uint32_array, "Uint32Array", &p[3], &n[3]) ||
      !ArgTyped(env, argv[6], "port", napi_uint16_array, "Uint16Array", &p[4], &n[4]) ||
      !ArgTyped(env, argv[7], "tos", napi_uint8_array, "Uint8Array", &p[5], &n[5]) ||
      !ArgTyped(env, argv[8], "verdict", napi_uint8_array, "Uint8Array", &p[6], &n[6]))
    return nullptr;
  size_t capacity = n[1];
  if (capacity == 0 || capacity > 0xffffffffu) {
    ThrowRangeError(env, "off.length " + std::to_string(capacity) + " (the capacity) must be at least 1");
    return nullptr;
  }
  for (int k = 2; k < Batch::kArrays; k++) {
    if (n[k] != capacity) {
      ThrowRangeError(env, std::string(kNames[k]) + ".length " + std::to_string(n[k]) +
                               " must equal off.length (the capacity) " + std::to_string(capacity));
      return nullptr;
    }
  }
  uint64_t need = static_cast<uint64_t>(capacity) * b->slotSize;
  if (need > 0x100000000ULL) {
    ThrowRangeError(env, "capacity " + std::to_string(capacity) + " * slotSize " + std::to_string(b->slotSize) +
                             " exceeds 2^32 bytes (offsets are 32-bit)");
    return nullptr;
  }
  if (n[0] < need) {
    ThrowRangeError(env, "bytes.length " + std::to_string(n[0]) + " is less than capacity " +
                             std::to_string(capacity) + " * slotSize " + std::to_string(b->slotSize) + " = " +
                             std::to_string(need));
    return nullptr;
  }
  b->capacity = static_cast<uint32_t>(capacity);
  b->bytesLen = n[0];
  for (int k = 0; k < Batch::kArrays; k++) b->counts[k] = n[k];
  b->msgs.reset(new mmsghdr[capacity]());
  b->iov.reset(new iovec[capacity]());
  b->names.reset(new sockaddr_in[capacity]());
  b->index.reset(new uint32_t[capacity]());

  for (int k = 0; k < Batch::kArrays; k++) {
    if (napi_create_reference(env, argv[k == 0 ? 0 : k + 2], 1, &b->refs[k]) != napi_ok) {
      for (napi_ref& r : b->refs)
        if (r) napi_delete_reference(env, r);
      Napi::Error::New(env, "batchAttach: cannot reference the batch arrays").ThrowAsJavaScriptException();
      return nullptr;
    }
  }
  if (!Refresh(env, b.get())) {
    for (napi_ref& r : b->refs) napi_delete_reference(env, r);
    return nullptr;
  }
  napi_value ext;
  Batch* raw = b.get();
  if (napi_create_external(env, raw, FinalizeBatch, nullptr, &ext) != napi_ok) {
    for (napi_ref& r : b->refs) napi_delete_reference(env, r);
    Napi::Error::New(env, "batchAttach: cannot create the handle").ThrowAsJavaScriptException();
    return nullptr;
  }
  b.release();  // owned by the External's finalizer from here on
  napi_type_tag_object(env, ext, &kBatchTag);
  return ext;
}

}  // namespace

Batch* UnwrapBatch(napi_env env, napi_value v, const char* name) {
  napi_valuetype t;
  bool tagged = false;
  void* data = nullptr;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, &kBatchTag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, v, &data) != napi_ok || data == nullptr) {
    ThrowTypeError(env, std::string(name) + " must be a NativeBatch returned by batchAttach");
    return nullptr;
  }
  Batch* b = static_cast<Batch*>(data);
  return Refresh(env, b) ? b : nullptr;
}

void InitBatch(Napi::Env env, Napi::Object exports) { SetFunction(env, exports, "batchAttach", JsBatchAttach); }

}  // namespace vxtun
