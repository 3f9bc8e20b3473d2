#pragma once
// Field numbers of the TensorBoard protos that scalar logging uses (tensorboard/compat/proto/
// event.proto and summary.proto), and the TFRecord framing constants. Internal to src/train.
#include <cstdint>

namespace asr::train::tb {

// message Event { double wall_time = 1; int64 step = 2; oneof what { string file_version = 3;
//                 ... Summary summary = 5; ... } }
constexpr uint32_t kEventWallTime = 1;
constexpr uint32_t kEventStep = 2;
constexpr uint32_t kEventFileVersion = 3;
constexpr uint32_t kEventSummary = 5;
// message Summary { repeated Value value = 1; }
constexpr uint32_t kSummaryValue = 1;
// message Summary.Value { string tag = 1; oneof value { float simple_value = 2; ... } }
constexpr uint32_t kValueTag = 1;
constexpr uint32_t kValueSimpleValue = 2;

// The version string TensorFlow's and PyTorch's writers put in the first event of a file.
constexpr const char* kFileVersion = "brain.Event:2";

// TFRecord: uint64 length, uint32 masked_crc32c(length), payload, uint32 masked_crc32c(payload),
// all little-endian.
constexpr size_t kLengthBytes = 8;
constexpr size_t kCrcBytes = 4;

}  // namespace asr::train::tb
