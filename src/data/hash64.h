#pragma once
// XXH64 (the public xxHash 64-bit specification, seed 0): a fast, stable digest for shard
// checksums and fingerprints. Same value on every machine (bytes are read little-endian).
#include <cstddef>
#include <cstdint>
#include <string>

namespace asr::data::detail {

class Hash64 {
 public:
  void update(const void* data, size_t size);
  void update(const std::string& s) { update(s.data(), s.size()); }
  uint64_t digest() const;

 private:
  void stripe(const unsigned char* p);
  uint64_t v_[4] = {0x60EA27EEADC0B5D6ULL, 0xC2B2AE3D27D4EB4FULL, 0ULL, 0x61C8864E7A143579ULL};
  unsigned char buf_[32] = {};
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

uint64_t hash64(const void* data, size_t size);
// "xxh64:" + 16 lowercase hex digits, and back (throws asr::Error on another form).
std::string format_digest(uint64_t value);
uint64_t parse_digest(const std::string& text);
// Digest of a file's bytes; errors name the file.
uint64_t file_hash64(const std::string& path);

}  // namespace asr::data::detail
