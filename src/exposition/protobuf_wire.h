#pragma once
// Protobuf wire format helpers shared by the label pairs pre-encoded in
// exposition.cc and the writer in protobuf_writer.cc. Thread-safe (pure
// functions).

#include <bit>
#include <cstddef>
#include <cstdint>

namespace hx::metrics {

/// Bytes of `v` as a varint: 1 + floor(log2(v) / 7), and 1 for 0.
constexpr size_t VarintSize(uint64_t v) {
  return static_cast<size_t>(std::bit_width(v | 1) + 6) / 7;
}

}  // namespace hx::metrics
