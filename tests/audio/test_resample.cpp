// The resampler streams the signal through soxr in chunks (src/audio/resample.cpp). soxr is a
// streaming filter, so the samples must be exactly those of one soxr_oneshot call over the whole
// signal (what python-soxr's resample() also gives): checked on signals many chunks long.
#include <gtest/gtest.h>
#include <soxr.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "audio/resample.h"

namespace asr::audio::detail {
namespace {

std::vector<float> oneshot(const std::vector<float>& in, int64_t from, int64_t to) {
  std::vector<float> out(static_cast<size_t>((static_cast<int64_t>(in.size()) * to + from - 1) / from), 0.0f);
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  size_t done = 0;
  EXPECT_EQ(soxr_oneshot(static_cast<double>(from), static_cast<double>(to), 1, in.data(), in.size(), nullptr,
                         out.data(), out.size(), &done, &io, &q, nullptr),
            nullptr);
  return out;
}

TEST(Resample, ChunkedStreamGivesExactlyTheOneShotSamples) {
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.2f);
  const int64_t rates[][2] = {{22050, 16000}, {44100, 16000}, {48000, 16000}, {8000, 16000}, {16000, 8000}};
  for (const auto& r : rates) {
    // 9.3 s: several of the resampler's 32768-sample chunks plus a partial one.
    std::vector<float> x(static_cast<size_t>(r[0] * 93 / 10));
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = noise(rng) + 0.5f * std::sin(0.01f * static_cast<float>(i));
    const std::vector<float> got = resample(x, r[0], r[1], "noise");
    const std::vector<float> want = oneshot(x, r[0], r[1]);
    ASSERT_EQ(got.size(), want.size()) << r[0] << " -> " << r[1];
    size_t differ = 0;
    for (size_t i = 0; i < got.size(); ++i) differ += got[i] != want[i];
    EXPECT_EQ(differ, 0u) << r[0] << " -> " << r[1] << ": samples that differ from soxr_oneshot";
  }
}

TEST(Resample, ShortSignalsKeepTheirLength) {
  for (size_t n : {1u, 2u, 7u, 100u}) {
    const std::vector<float> x(n, 0.25f);
    EXPECT_EQ(resample(x, 22050, 16000, "short").size(), (n * 16000 + 22049) / 22050) << n;
    EXPECT_EQ(resample(x, 22050, 16000, "short"), oneshot(x, 22050, 16000)) << n;
  }
}

}  // namespace
}  // namespace asr::audio::detail
