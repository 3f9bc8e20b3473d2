// Reads scalar summaries back from a TensorBoard event file, checking the TFRecord framing and
// both CRCs of every record. Non-scalar values and non-summary events are skipped.
#include <cstring>
#include <fstream>
#include <sstream>

#include "asr/core/error.h"
#include "asr/train/metrics_log.h"
#include "protobuf_wire.h"
#include "tensorboard_proto.h"

namespace asr::train {
namespace {

// Where a malformed field sits, for the error message.
struct Where {
  const std::string& path;
  size_t record_offset;
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(str_cat(path, ": byte ", record_offset, ": ", what));
  }
};

uint64_t read_le(const std::string& bytes, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return v;
}

// Summary.Value: appends {tag, simple_value} when the value is a simple scalar.
void parse_value(const std::string& bytes, const Where& where, ScalarEvent proto,
                 std::vector<ScalarEvent>& out) {
  wire::Reader r(bytes.data(), bytes.size());
  bool has_scalar = false;
  while (!r.done()) {
    uint32_t field;
    wire::WireType type;
    if (!r.key(field, type)) where.fail("bad Summary.Value field key");
    if (field == tb::kValueTag && type == wire::kLengthDelimited) {
      if (!r.bytes(proto.tag)) where.fail("truncated Summary.Value.tag");
    } else if (field == tb::kValueSimpleValue && type == wire::kFixed32) {
      uint64_t bits;
      if (!r.fixed(bits, 4)) where.fail("truncated Summary.Value.simple_value");
      const uint32_t b32 = static_cast<uint32_t>(bits);
      float f;
      std::memcpy(&f, &b32, sizeof f);
      proto.value = f;
      has_scalar = true;
    } else if (!r.skip(type)) {
      where.fail(str_cat("bad Summary.Value field ", field));
    }
  }
  if (has_scalar) out.push_back(std::move(proto));
}

void parse_event(const std::string& bytes, const Where& where, std::vector<ScalarEvent>& out) {
  wire::Reader r(bytes.data(), bytes.size());
  ScalarEvent header;
  std::vector<std::string> values;  // fields may come in any order: decode after step/time
  while (!r.done()) {
    uint32_t field;
    wire::WireType type;
    if (!r.key(field, type)) where.fail("bad Event field key");
    if (field == tb::kEventWallTime && type == wire::kFixed64) {
      uint64_t bits;
      if (!r.fixed(bits, 8)) where.fail("truncated Event.wall_time");
      std::memcpy(&header.wall_time, &bits, sizeof bits);
    } else if (field == tb::kEventStep && type == wire::kVarint) {
      uint64_t step;
      if (!r.varint(step)) where.fail("bad Event.step");
      header.step = static_cast<int64_t>(step);
    } else if (field == tb::kEventSummary && type == wire::kLengthDelimited) {
      std::string summary;
      if (!r.bytes(summary)) where.fail("truncated Event.summary");
      wire::Reader s(summary.data(), summary.size());
      while (!s.done()) {
        uint32_t sfield;
        wire::WireType stype;
        if (!s.key(sfield, stype)) where.fail("bad Summary field key");
        if (sfield == tb::kSummaryValue && stype == wire::kLengthDelimited) {
          values.emplace_back();
          if (!s.bytes(values.back())) where.fail("truncated Summary.value");
        } else if (!s.skip(stype)) {
          where.fail(str_cat("bad Summary field ", sfield));
        }
      }
    } else if (!r.skip(type)) {
      where.fail(str_cat("bad Event field ", field));
    }
  }
  for (const std::string& v : values) parse_value(v, where, header, out);
}

}  // namespace

std::vector<ScalarEvent> read_tensorboard_scalars(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(str_cat(path, ": cannot open TensorBoard event file"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(str_cat(path, ": cannot read TensorBoard event file"));
  const std::string data = ss.str();

  std::vector<ScalarEvent> scalars;
  size_t offset = 0;
  while (offset < data.size()) {
    const Where where{path, offset};
    const size_t header_bytes = tb::kLengthBytes + tb::kCrcBytes;
    if (data.size() - offset < header_bytes) where.fail("truncated record header");
    const uint64_t length = read_le(data, offset, tb::kLengthBytes);
    if (read_le(data, offset + tb::kLengthBytes, tb::kCrcBytes) !=
        masked_crc32c(data.data() + offset, tb::kLengthBytes))
      where.fail("record length CRC mismatch");
    const size_t payload_at = offset + header_bytes;
    if (length > data.size() - payload_at || data.size() - payload_at - length < tb::kCrcBytes)
      where.fail(str_cat("record of ", length, " bytes runs past the end of the file"));
    if (read_le(data, payload_at + length, tb::kCrcBytes) !=
        masked_crc32c(data.data() + payload_at, static_cast<size_t>(length)))
      where.fail("record payload CRC mismatch");
    parse_event(data.substr(payload_at, static_cast<size_t>(length)), where, scalars);
    offset = payload_at + length + tb::kCrcBytes;
  }
  return scalars;
}

}  // namespace asr::train
