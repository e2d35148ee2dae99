// SPDX-License-Identifier: Apache-2.0
// JS bindings of the checksum primitives (checksum.h) and of FinishLeakedChecksum
// (partial_csum.h). Kept apart from them so that the pure code builds without Node: the
// offload fuzz harness (native/fuzz) links it on its own.
#include <string>

#include "addon.h"
#include "args.h"
#include "checksum.h"
#include "partial_csum.h"

namespace vxtun {
namespace {

// onesSum(buf, offset, length, seed = 0): folded network-order sum of the range plus seed (0..0xffff).
napi_value JsOnesSum(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  GetArgs(env, info, argv);
  uint8_t* p;
  size_t len;
  uint32_t seed = 0;
  if (!ArgBufferRange(env, argv, &p, &len)) return nullptr;
  if (!IsUndefined(env, argv[3]) && !ArgU32(env, argv[3], "seed", 0xffff, &seed)) return nullptr;
  napi_value r;
  napi_create_uint32(env, OnesAdd(OnesSum16(p, len), seed), &r);
  return r;
}

// internetChecksum(buf, offset, length): ~onesSum & 0xffff.
napi_value JsInternetChecksum(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  GetArgs(env, info, argv);
  uint8_t* p;
  size_t len;
  if (!ArgBufferRange(env, argv, &p, &len)) return nullptr;
  napi_value r;
  napi_create_uint32(env, static_cast<uint16_t>(~OnesSum16(p, len)), &r);
  return r;
}

// ipv4HeaderChecksum(buf, offset): internet checksum of IHL*4 bytes at offset; IHL >= 5 and
// the whole header inside buf, else RangeError.
napi_value JsIpv4HeaderChecksum(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GetArgs(env, info, argv);
  uint8_t* data;
  size_t have, off;
  if (!ArgBytes(env, argv[0], "buf", &data, &have) || !ArgSize(env, argv[1], "offset", &off)) return nullptr;
  if (off >= have) {
    ThrowRangeError(env, "offset " + std::to_string(off) + " is outside buffer length " + std::to_string(have));
    return nullptr;
  }
  size_t ihl = data[off] & 0x0f;
  if (ihl < 5) {
    ThrowRangeError(env, "IPv4 header at offset " + std::to_string(off) + " has IHL " + std::to_string(ihl) +
                             " (must be at least 5)");
    return nullptr;
  }
  if (ihl * 4 > have - off) {
    ThrowRangeError(env, "IPv4 header at offset " + std::to_string(off) + " (IHL " + std::to_string(ihl) + ", " +
                             std::to_string(ihl * 4) + " bytes) exceeds buffer length " + std::to_string(have));
    return nullptr;
  }
  napi_value r;
  napi_create_uint32(env, static_cast<uint16_t>(~OnesSum16(data + off, ihl * 4)), &r);
  return r;
}

// l4ChecksumIPv4(buf, l4Offset, l4Length, src, dst, proto): checksum of pseudo-header + range.
napi_value JsL4ChecksumIPv4(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  GetArgs(env, info, argv);
  uint8_t* data;
  size_t have, off, len;
  uint32_t src, dst, proto;
  if (!ArgBytes(env, argv[0], "buf", &data, &have) || !ArgSize(env, argv[1], "l4Offset", &off) ||
      !ArgSize(env, argv[2], "l4Length", &len) || !CheckRange(env, off, len, have, "l4Offset", "l4Length"))
    return nullptr;
  if (len > 0xffff) {
    ThrowRangeError(env, "l4Length " + std::to_string(len) + " exceeds 65535");
    return nullptr;
  }
  if (!ArgU32(env, argv[3], "src", 0xffffffffu, &src) || !ArgU32(env, argv[4], "dst", 0xffffffffu, &dst) ||
      !ArgU32(env, argv[5], "proto", 0xff, &proto))
    return nullptr;
  uint16_t sum = OnesAdd(OnesSum16(data + off, len), PseudoSum(src, dst, static_cast<uint8_t>(proto), len));
  napi_value r;
  napi_create_uint32(env, static_cast<uint16_t>(~sum), &r);
  return r;
}

// checksumUpdate16(checksum, oldWord, newWord): RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m').
napi_value JsChecksumUpdate16(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  GetArgs(env, info, argv);
  uint32_t hc, m, m2;
  if (!ArgU32(env, argv[0], "checksum", 0xffff, &hc) || !ArgU32(env, argv[1], "oldWord", 0xffff, &m) ||
      !ArgU32(env, argv[2], "newWord", 0xffff, &m2))
    return nullptr;
  uint16_t sum = OnesAdd((~hc & 0xffff) + (~m & 0xffff), m2);
  napi_value r;
  napi_create_uint32(env, static_cast<uint16_t>(~sum), &r);
  return r;
}

// finishLeakedChecksum(buf, offset, length) -> boolean.
napi_value JsFinishLeakedChecksum(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  GetArgs(env, info, argv);
  uint8_t* p;
  size_t len;
  if (!ArgBufferRange(env, argv, &p, &len)) return nullptr;
  napi_value r;
  napi_get_boolean(env, FinishLeakedChecksum(p, len), &r);
  return r;
}

}  // namespace

void InitChecksum(Napi::Env env, Napi::Object exports) {
  SetFunction(env, exports, "onesSum", JsOnesSum);
  SetFunction(env, exports, "internetChecksum", JsInternetChecksum);
  SetFunction(env, exports, "ipv4HeaderChecksum", JsIpv4HeaderChecksum);
  SetFunction(env, exports, "l4ChecksumIPv4", JsL4ChecksumIPv4);
  SetFunction(env, exports, "checksumUpdate16", JsChecksumUpdate16);
  SetFunction(env, exports, "finishLeakedChecksum", JsFinishLeakedChecksum);
}

}  // namespace vxtun
