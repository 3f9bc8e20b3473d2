// CRC32C (Castagnoli polynomial, reflected 0x82F63B78) with a byte-wise table: event files are
// small and written a record at a time, so table speed is plenty.
#include <array>

#include "asr/train/metrics_log.h"

namespace asr::train {
namespace {

constexpr uint32_t kCastagnoliReflected = 0x82F63B78u;
constexpr uint32_t kTfRecordMaskDelta = 0xa282ead8u;

std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? (c >> 1) ^ kCastagnoliReflected : c >> 1;
    table[i] = c;
  }
  return table;
}

}  // namespace

uint32_t crc32c(const void* data, size_t n, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_table();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;  // `crc` is a finished CRC of the preceding bytes, so calls can be chained
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
  return ~crc;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  // TFRecord masks the CRC so that a CRC of data that itself contains CRCs is not degenerate.
  const uint32_t crc = crc32c(data, n);
  return ((crc >> 15) | (crc << 17)) + kTfRecordMaskDelta;
}

}  // namespace asr::train
