#pragma once
// The few pieces of the protobuf wire format that TensorBoard event files need: varints, 32/64-bit
// fixed fields and length-delimited fields, written little-endian byte by byte so the output does
// not depend on the host's byte order. Internal to src/train.
#include <cstdint>
#include <cstring>
#include <string>

namespace asr::train::wire {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

inline void put_key(std::string& out, uint32_t field, WireType type) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | type);
}

inline void put_double(std::string& out, uint32_t field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, kFixed64);
  put_le(out, bits, 8);
}

inline void put_float(std::string& out, uint32_t field, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, kFixed32);
  put_le(out, bits, 4);
}

// int64 fields are plain varints of the two's-complement value (negative ones take 10 bytes).
inline void put_int64(std::string& out, uint32_t field, int64_t v) {
  put_key(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(v));
}

inline void put_bytes(std::string& out, uint32_t field, const std::string& bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out += bytes;
}

// Reads fields from one message's bytes. Every read reports failure instead of throwing, so the
// caller can name the file and offset in its error.
class Reader {
 public:
  Reader(const char* data, size_t n) : p_(reinterpret_cast<const unsigned char*>(data)), end_(p_ + n) {}
  bool done() const { return p_ == end_; }

  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      const unsigned char b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;  // more than 10 bytes: not a varint
  }

  bool key(uint32_t& field, WireType& type) {
    uint64_t k;
    if (!varint(k)) return false;
    field = static_cast<uint32_t>(k >> 3);
    type = static_cast<WireType>(k & 7);
    return field != 0;
  }

  bool fixed(uint64_t& v, int bytes) {
    if (end_ - p_ < bytes) return false;
    v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p_[i]) << (8 * i);
    p_ += bytes;
    return true;
  }

  bool bytes(std::string& v) {
    uint64_t n;
    if (!varint(n) || n > static_cast<uint64_t>(end_ - p_)) return false;
    v.assign(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
    p_ += n;
    return true;
  }

  // Skips a field this reader does not need (unknown fields are legal protobuf).
  bool skip(WireType type) {
    uint64_t ignored;
    std::string ignored_bytes;
    switch (type) {
      case kVarint: return varint(ignored);
      case kFixed64: return fixed(ignored, 8);
      case kFixed32: return fixed(ignored, 4);
      case kLengthDelimited: return bytes(ignored_bytes);
    }
    return false;  // groups (3, 4) and reserved types do not occur in event files
  }

 private:
  const unsigned char* p_;
  const unsigned char* end_;
};

}  // namespace asr::train::wire
