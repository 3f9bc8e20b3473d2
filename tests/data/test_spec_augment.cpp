// SpecAugment as NeMo draws it: widths in [0, max), adaptive time width per utterance, masks only
// on valid frames, deterministic from the generator, a no-op without masks.
#include <gtest/gtest.h>

#include <algorithm>

#include "asr/data/loader.h"
#include "support/test_util.h"

namespace asr::data {
namespace {

constexpr float kMask = -7.0f;

// [B, n_mels, T] of ones on valid frames, zeros beyond each length.
Tensor padded_ones(const std::vector<int64_t>& lengths, int64_t n_mels, int64_t t_max) {
  const int64_t b_count = static_cast<int64_t>(lengths.size());
  Tensor x = Tensor::zeros({b_count, n_mels, t_max});
  float* p = x.data<float>();
  for (int64_t b = 0; b < b_count; ++b)
    for (int64_t m = 0; m < n_mels; ++m)
      for (int64_t t = 0; t < lengths[static_cast<size_t>(b)]; ++t) p[(b * n_mels + m) * t_max + t] = 1.0f;
  return x;
}

struct Masked {
  std::vector<int64_t> rows, cols;  // per utterance: fully masked mel rows / frames (valid part)
};

Masked inspect(const Tensor& x, const std::vector<int64_t>& lengths) {
  const int64_t b_count = x.size(0), n_mels = x.size(1), t_max = x.size(2);
  const float* p = x.data<float>();
  Masked r;
  for (int64_t b = 0; b < b_count; ++b) {
    const int64_t len = lengths[static_cast<size_t>(b)];
    auto at = [&](int64_t m, int64_t t) { return p[(b * n_mels + m) * t_max + t]; };
    int64_t rows = 0, cols = 0;
    for (int64_t m = 0; m < n_mels; ++m) {
      bool all = len > 0;
      for (int64_t t = 0; t < len; ++t) all = all && at(m, t) == kMask;
      rows += all;
    }
    for (int64_t t = 0; t < len; ++t) {
      bool all = true;
      for (int64_t m = 0; m < n_mels; ++m) all = all && at(m, t) == kMask;
      cols += all;
    }
    r.rows.push_back(rows);
    r.cols.push_back(cols);
  }
  return r;
}

TEST(SpecAugment, NoMasksLeavesFeaturesUntouched) {
  Tensor x = padded_ones({10, 6}, 8, 10);
  const auto before = x.to_vector();
  Generator gen(1);
  spec_augment(x, Tensor::from_vector(std::vector<int64_t>{10, 6}, {2}), SpecAugmentConfig{}, gen);
  EXPECT_EQ(x.to_vector(), before);
}

TEST(SpecAugment, MasksOnlyValidFramesWithTheMaskValue) {
  const std::vector<int64_t> lens = {50, 20, 7, 33};
  Tensor x = padded_ones(lens, 16, 50);
  SpecAugmentConfig c;
  c.freq_masks = 2;
  c.freq_width = 6;
  c.time_masks = 3;
  c.time_width = 12.0;
  c.mask_value = kMask;
  Generator gen(3);
  spec_augment(x, Tensor::from_vector(lens, {4}), c, gen);
  const float* p = x.data<float>();
  int64_t masked = 0;
  for (int64_t b = 0; b < 4; ++b)
    for (int64_t m = 0; m < 16; ++m)
      for (int64_t t = 0; t < 50; ++t) {
        const float v = p[(b * 16 + m) * 50 + t];
        if (t >= lens[static_cast<size_t>(b)]) {
          ASSERT_EQ(v, 0.0f) << "padding masked at utt " << b << " frame " << t;
        } else {
          ASSERT_TRUE(v == 1.0f || v == kMask);
          masked += v == kMask;
        }
      }
  EXPECT_GT(masked, 0);
}

TEST(SpecAugment, WidthsStayBelowTheirLimits) {
  // One mask of each kind per utterance, so masked rows/frames are exactly the mask widths.
  const int64_t n = 400;
  std::vector<int64_t> lens;
  for (int64_t b = 0; b < n; ++b) lens.push_back(40 + (b * 37) % 161);  // 40 .. 200 frames
  Tensor x = padded_ones(lens, 20, 200);
  SpecAugmentConfig c;
  c.freq_masks = 1;
  c.freq_width = 7;
  c.time_masks = 1;
  c.time_width = 0.1;  // adaptive: below 10% of each utterance's length
  c.mask_value = kMask;
  Generator gen(11);
  spec_augment(x, Tensor::from_vector(lens, {n}), c, gen);
  const Masked r = inspect(x, lens);
  int64_t widest_f = 0, widest_t_rel = 0;
  for (int64_t b = 0; b < n; ++b) {
    const int64_t len = lens[static_cast<size_t>(b)];
    // A time mask spanning every frame would mark all rows masked too; lengths >= 40 prevent it.
    ASSERT_LT(r.rows[static_cast<size_t>(b)], 7) << "utt " << b;
    ASSERT_LT(static_cast<double>(r.cols[static_cast<size_t>(b)]), 0.1 * static_cast<double>(len))
        << "utt " << b;
    widest_f = std::max(widest_f, r.rows[static_cast<size_t>(b)]);
    if (r.cols[static_cast<size_t>(b)] * 10 >= len - 10) widest_t_rel++;
  }
  EXPECT_EQ(widest_f, 6);      // the widest allowed width does occur
  EXPECT_GT(widest_t_rel, 0);  // and time widths come close to 10% of the length
}

TEST(SpecAugment, IntegerTimeWidthIsInFramesAndClampedToTheLength) {
  const std::vector<int64_t> lens = {4, 60};
  Tensor x = padded_ones(lens, 4, 60);
  SpecAugmentConfig c;
  c.time_masks = 1;
  c.time_width = 30;
  c.mask_value = kMask;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Tensor y = x.clone();
    Generator gen(seed);
    spec_augment(y, Tensor::from_vector(lens, {2}), c, gen);
    const Masked r = inspect(y, lens);
    EXPECT_LE(r.cols[0], 4);
    EXPECT_LT(r.cols[1], 30);
    const float* p = y.data<float>();
    for (int64_t t = 4; t < 60; ++t) ASSERT_EQ(p[t], 0.0f);  // utterance 0's padding
  }
}

TEST(SpecAugment, DeterministicFromTheGenerator) {
  const std::vector<int64_t> lens = {30, 25, 12};
  SpecAugmentConfig c;
  c.freq_masks = 2;
  c.time_masks = 2;
  c.freq_width = 5;
  c.time_width = 0.2;
  c.mask_value = kMask;
  auto run = [&](Generator& g) {
    Tensor x = padded_ones(lens, 12, 30);
    spec_augment(x, Tensor::from_vector(lens, {3}), c, g);
    return x.to_vector();
  };
  Generator a(42), b(42), other(43);
  const auto first = run(a);
  EXPECT_EQ(first, run(b));
  EXPECT_NE(first, run(other));
  EXPECT_NE(first, run(a));  // the generator advanced: the next batch gets new masks
  EXPECT_EQ(a.offset(), b.offset() * 2);
}

TEST(SpecAugment, RejectsWrongLayouts) {
  Generator gen(0);
  SpecAugmentConfig c;
  c.freq_masks = 1;
  Tensor x = Tensor::zeros({2, 4});
  EXPECT_ASR_ERROR(spec_augment(x, Tensor::zeros({2}, DType::I64), c, gen), "spec_augment");
  Tensor y = Tensor::zeros({2, 4, 5});
  EXPECT_ASR_ERROR(spec_augment(y, Tensor::zeros({3}, DType::I64), c, gen), "lengths");
  c.time_width = -1;
  EXPECT_ASR_ERROR(spec_augment(y, Tensor::zeros({2}, DType::I64), c, gen), "negative");
}

}  // namespace
}  // namespace asr::data
