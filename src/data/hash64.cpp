// XXH64, written from the xxHash specification (doc/xxhash_spec.md), seed 0.
#include "hash64.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "asr/core/error.h"

namespace asr::data::detail {
namespace {

constexpr uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL, P3 = 0x165667B19E3779F9ULL,
                   P4 = 0x85EBCA77C2B2AE63ULL, P5 = 0x27D4EB2F165667C5ULL;

inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t read64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline uint64_t read32(const unsigned char* p) {
  return uint64_t{p[0]} | uint64_t{p[1]} << 8 | uint64_t{p[2]} << 16 | uint64_t{p[3]} << 24;
}
inline uint64_t xround(uint64_t acc, uint64_t input) { return rotl(acc + input * P2, 31) * P1; }
inline uint64_t merge(uint64_t acc, uint64_t v) { return (acc ^ xround(0, v)) * P1 + P4; }

}  // namespace

void Hash64::stripe(const unsigned char* p) {
  for (int i = 0; i < 4; ++i) v_[i] = xround(v_[i], read64(p + 8 * i));
}

void Hash64::update(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  total_ += size;
  if (buffered_ > 0) {
    const size_t take = std::min(size, 32 - buffered_);
    std::memcpy(buf_ + buffered_, p, take);
    buffered_ += take;
    p += take;
    size -= take;
    if (buffered_ < 32) return;
    stripe(buf_);
    buffered_ = 0;
  }
  for (; size >= 32; p += 32, size -= 32) stripe(p);
  std::memcpy(buf_, p, size);
  buffered_ = size;
}

uint64_t Hash64::digest() const {
  uint64_t h;
  if (total_ >= 32) {
    h = rotl(v_[0], 1) + rotl(v_[1], 7) + rotl(v_[2], 12) + rotl(v_[3], 18);
    for (uint64_t v : v_) h = merge(h, v);
  } else {
    h = P5;  // seed + P5
  }
  h += total_;
  const unsigned char* p = buf_;
  size_t n = buffered_;
  for (; n >= 8; p += 8, n -= 8) h = rotl(h ^ xround(0, read64(p)), 27) * P1 + P4;
  if (n >= 4) {
    h = rotl(h ^ (read32(p) * P1), 23) * P2 + P3;
    p += 4;
    n -= 4;
  }
  for (; n > 0; ++p, --n) h = rotl(h ^ (*p * P5), 11) * P1;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

uint64_t hash64(const void* data, size_t size) {
  Hash64 h;
  h.update(data, size);
  return h.digest();
}

std::string format_digest(uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "xxh64:%016llx", static_cast<unsigned long long>(value));
  return buf;
}

uint64_t parse_digest(const std::string& text) {
  const std::string prefix = "xxh64:";
  if (text.size() != prefix.size() + 16 || text.compare(0, prefix.size(), prefix) != 0)
    throw Error(str_cat("checksum '", text, "' is not of the form xxh64:<16 hex digits>"));
  uint64_t v = 0;
  for (size_t i = prefix.size(); i < text.size(); ++i) {
    const char c = text[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) throw Error(str_cat("checksum '", text, "' is not of the form xxh64:<16 hex digits>"));
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

uint64_t file_hash64(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) throw Error(str_cat(path, ": cannot open for checksum (", std::strerror(errno), ")"));
  Hash64 h;
  std::vector<unsigned char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) h.update(buf.data(), n);
  if (std::ferror(f.get())) throw Error(str_cat(path, ": read error while computing its checksum"));
  return h.digest();
}

}  // namespace asr::data::detail
