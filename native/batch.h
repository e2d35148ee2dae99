// SPDX-License-Identifier: Apache-2.0
// NativeBatch: a PacketBatch's arrays pinned for batched I/O (see src/dataplane/batch.ts).
#ifndef VXTUN_BATCH_H_
#define VXTUN_BATCH_H_

#include <napi.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace vxtun {

struct Batch {
  uint32_t capacity = 0;  // slots (= off.length)
  uint32_t slotSize = 0;
  uint32_t headroom = 0;
  uint8_t* bytes = nullptr;
  size_t bytesLen = 0;
  uint32_t* off = nullptr;
  uint32_t* len = nullptr;
  uint32_t* addr = nullptr;
  uint16_t* port = nullptr;
  uint8_t* tos = nullptr;
  uint8_t* verdict = nullptr;
  // Strong references keeping bytes, off, len, addr, port, tos, verdict alive, and their
  // element counts at attach time (a detached array would report fewer).
  static constexpr int kArrays = 7;
  napi_ref refs[kArrays] = {};
  size_t counts[kArrays] = {};
  // Preallocated per-slot scratch for recvmmsg/sendmmsg.
  std::unique_ptr<mmsghdr[]> msgs;
  std::unique_ptr<iovec[]> iov;
  std::unique_ptr<sockaddr_in[]> names;
  std::unique_ptr<uint32_t[]> index;  // message k -> packet index (udpSend)

  // Offset of slot i's packet start when freshly filled.
  size_t DataStart(uint32_t i) const { return static_cast<size_t>(i) * slotSize + headroom; }
  uint32_t Room() const { return slotSize - headroom; }
};

// The Batch behind a NativeBatch handle, its pointers re-read from the pinned arrays.
// Throws a TypeError naming `name` (and returns nullptr) if v is not a batchAttach handle
// or its memory has been detached since.
Batch* UnwrapBatch(napi_env env, napi_value v, const char* name = "batch");

}  // namespace vxtun

#endif  // VXTUN_BATCH_H_
