// FeatureExtractor against NeMo's FilterbankFeatures on a synthetic signal
// (tests/fixtures/audio/features_reference.h5, written by tools/make_audio_fixtures.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <thread>

#include "asr/audio/features.h"
#include "golden/golden_io.h"
#include "support/test_util.h"

namespace asr::audio {
namespace {

golden::File& reference() {
  static golden::File f("../fixtures/audio/features_reference.h5");
  return f;
}

std::vector<float> test_signal() {
  const auto a = reference().read("signal");
  return std::vector<float>(a.data.begin(), a.data.end());
}

// The Conformer / FastConformer example preprocessor.
io::PreprocessorConfig conformer_config() {
  io::PreprocessorConfig c;
  c.window_size = 0.025;
  c.features = 80;
  c.n_fft = 512;
  c.pad_to = 0;
  return c;
}

double max_abs_diff(const Tensor& got, const golden::Array& ref) {
  EXPECT_EQ(got.shape(), ref.shape);
  if (got.shape() != ref.shape) return INFINITY;
  const auto g = got.to_vector();
  double worst = 0;
  for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::fabs(g[i] - ref.data[i]));
  return worst;
}

// Checks and prints the measured figure (the acceptance bar is 1e-4 absolute).
void expect_within(double diff, const char* what) {
  std::printf("  [%s] max |ours - NeMo| = %.3g\n", what, diff);
  EXPECT_LE(diff, 1e-4) << what;
}

// The reference is NeMo's [n_mels, T_stft]; compute() returns the first seq_len frames.
Tensor valid_frames(const golden::Array& ref, int64_t frames) {
  Tensor t = ref.f32();
  return t.narrow(1, 0, frames).contiguous();
}

TEST(FeatureFrames, CountIsSamplesOverHopSinceNeMo25) {
  FeatureExtractor fe(conformer_config());
  EXPECT_EQ(fe.win_length(), 400);
  EXPECT_EQ(fe.hop_length(), 160);
  EXPECT_EQ(fe.n_fft(), 512);
  for (int64_t L : {0, 159, 160, 161, 319, 320, 16000, 16159, 16160, 123457})
    EXPECT_EQ(fe.num_frames(L), L / 160) << L;
}

TEST(FeatureFrames, LegacyCountHasOneMoreFrame) {
  auto c = conformer_config();
  c.legacy_nemo_pre_2_5 = true;
  FeatureExtractor fe(c);
  for (int64_t L : {257, 319, 320, 16000, 16159, 123457})
    EXPECT_EQ(fe.num_frames(L), L / 160 + 1) << L;
}

TEST(FeatureFrames, ExactPadCount) {
  auto c = conformer_config();
  c.exact_pad = true;  // pad (512-160)/2 = 176 per side, no centring
  FeatureExtractor fe(c);
  for (int64_t L : {320, 4000, 16000, 16161})
    EXPECT_EQ(fe.num_frames(L), (L + 352 - 512) / 160) << L;
  EXPECT_EQ(fe.num_frames(100), 0);
}

TEST(FeatureFrames, DerivedFftSizeIsNextPowerOfTwo) {
  io::PreprocessorConfig c;  // class defaults: window_size 0.02 -> 320 samples, n_fft 0
  FeatureExtractor fe(c);
  EXPECT_EQ(fe.win_length(), 320);
  EXPECT_EQ(fe.n_fft(), 512);
}

TEST(FeatureParity, DefaultConfigMatchesNeMo) {
  const auto ref = reference().read("features/default/features");
  const int64_t len = static_cast<int64_t>(reference().read("features/default/length").data[0]);
  FeatureExtractor fe(conformer_config());
  const Tensor got = fe.compute(test_signal());
  EXPECT_EQ(got.size(1), len);
  expect_within(max_abs_diff(got, golden::Array{{80, len}, valid_frames(ref, len).to_vector()}),
                "default");
  // NeMo's last STFT frame is masked to pad_value.
  for (int64_t m = 0; m < 80; ++m) EXPECT_EQ(ref.data[m * ref.shape[1] + len], 0.0);
}

TEST(FeatureParity, PadToAllFeaturesClampMatchesNeMo) {
  auto c = conformer_config();
  c.window_size = 0.02;
  c.n_fft = 0;
  c.features = 64;
  c.pad_to = 16;
  c.normalize = "all_features";
  c.log_zero_guard_type = "clamp";
  FeatureExtractor fe(c);
  auto [feats, lengths] = fe.compute_batch({test_signal()});
  const auto ref = reference().read("features/pad16_all_clamp/features");
  EXPECT_EQ(lengths.item(), reference().read("features/pad16_all_clamp/length").data[0]);
  expect_within(max_abs_diff(feats.squeeze(0), ref), "pad16_all_clamp");  // 26 frames -> 32
}

TEST(FeatureParity, ExactPadMagnitudeWithoutNormalisationMatchesNeMo) {
  auto c = conformer_config();
  c.exact_pad = true;
  c.normalize = "none";
  c.mag_power = 1.0;
  c.pad_value = -1.0;
  FeatureExtractor fe(c);
  auto [feats, lengths] = fe.compute_batch({test_signal()});
  EXPECT_EQ(lengths.item(), reference().read("features/exact_nonorm_mag/length").data[0]);
  expect_within(
      max_abs_diff(feats.squeeze(0), reference().read("features/exact_nonorm_mag/features")),
      "exact_nonorm_mag");
}

TEST(FeatureParity, LegacyReflectPaddingMatchesPre25Pipeline) {
  auto c = conformer_config();
  c.legacy_nemo_pre_2_5 = true;
  FeatureExtractor fe(c);
  const Tensor got = fe.compute(test_signal());
  EXPECT_EQ(got.size(1), reference().read("features/legacy/length").data[0]);
  expect_within(max_abs_diff(got, reference().read("features/legacy/features")), "legacy");
}

TEST(FeatureParity, PaddedBatchMatchesNeMo) {
  auto c = conformer_config();
  c.pad_to = 16;
  FeatureExtractor fe(c);
  const auto x = test_signal();
  auto [feats, lengths] = fe.compute_batch({x, std::vector<float>(x.begin(), x.begin() + 2500)});
  EXPECT_EQ(lengths.to_vector(), reference().read("features/batch_pad16/lengths").data);
  expect_within(max_abs_diff(feats, reference().read("features/batch_pad16/features")),
                "batch_pad16");
}

TEST(FeatureBatch, ValidFramesEqualSingleComputeAndRestIsPadValue) {
  auto c = conformer_config();
  c.pad_value = -7.0;
  FeatureExtractor fe(c);
  const auto x = test_signal();
  const std::vector<float> shorter(x.begin(), x.begin() + 1000);
  auto [feats, lengths] = fe.compute_batch({shorter, x});
  ASSERT_EQ(feats.shape(), (Shape{2, 80, 26}));
  EXPECT_EQ(lengths.to_vector(), (std::vector<double>{6, 25}));
  const auto one = fe.compute(shorter).to_vector();
  const auto b = feats.to_vector();
  for (int64_t m = 0; m < 80; ++m)
    for (int64_t t = 0; t < 26; ++t) {
      const double v = b[m * 26 + t];
      if (t < 6)
        EXPECT_EQ(v, one[m * 6 + t]);
      else
        EXPECT_EQ(v, -7.0);
    }
}

TEST(FeatureNormalisation, PerFeatureGivesZeroMeanUnitStd) {
  FeatureExtractor fe(conformer_config());
  const auto v = fe.compute(test_signal()).to_vector();
  const int64_t T = 25;
  for (int64_t m : {5, 40, 70}) {
    double s = 0, ss = 0;
    for (int64_t t = 0; t < T; ++t) s += v[m * T + t];
    const double mean = s / T;
    for (int64_t t = 0; t < T; ++t) ss += (v[m * T + t] - mean) * (v[m * T + t] - mean);
    EXPECT_NEAR(mean, 0.0, 1e-5);
    EXPECT_NEAR(std::sqrt(ss / (T - 1)), 1.0, 1e-3);  // unbiased std, slightly < 1 from the +1e-5
  }
}

TEST(FeatureBuffers, CheckpointWindowIsUsed) {
  auto c = conformer_config();
  c.normalize = "none";
  FeatureExtractor fe(c, Tensor(), Tensor::zeros({400}));
  const auto v = fe.compute(test_signal()).to_vector();
  for (double x : v) EXPECT_FLOAT_EQ(x, std::log(5.960464477539063e-08f));  // log(0 + 2^-24)
}

TEST(FeatureBuffers, CheckpointFilterbankIsUsedAndShapeChecked) {
  auto c = conformer_config();
  c.normalize = "none";
  FeatureExtractor derived(c);
  const auto base = derived.compute(test_signal()).to_vector();
  std::vector<float> twice = derived.filterbank();
  for (float& v : twice) v *= 2.0f;
  // [n_mels, bins] is accepted as well as NeMo's [1, n_mels, bins]
  FeatureExtractor given(c, Tensor::from_vector(twice, {80, 257}));
  const auto got = given.compute(test_signal()).to_vector();
  int checked = 0;
  for (size_t i = 0; i < base.size(); ++i)
    if (base[i] > -8.0) {  // mel well above the 2^-24 guard: log(2 mel) = log(mel) + log 2
      EXPECT_NEAR(got[i] - base[i], std::log(2.0), 1e-4) << i;
      ++checked;
    }
  EXPECT_GT(checked, 1000);
  EXPECT_ASR_ERROR(FeatureExtractor(c, Tensor::zeros({1, 64, 257})), "filterbank");
  EXPECT_ASR_ERROR(FeatureExtractor(c, Tensor(), Tensor::zeros({512})), "window");
}

TEST(FeatureErrors, TooShortSignalOrBadConfig) {
  FeatureExtractor fe(conformer_config());
  EXPECT_ASR_ERROR(fe.compute(std::vector<float>(159, 0.1f)), "too short");
  EXPECT_ASR_ERROR(fe.compute_batch({std::vector<float>(4000, 0.1f), {}}), "batch item 1");
  auto c = conformer_config();
  c.frame_splicing = 3;
  EXPECT_ASR_ERROR(FeatureExtractor{c}, "frame_splicing");
  c = conformer_config();
  c.log_zero_guard_type = "eps";
  EXPECT_ASR_ERROR(FeatureExtractor{c}, "log_zero_guard_type");
  c = conformer_config();
  c.n_fft = 256;
  EXPECT_ASR_ERROR(FeatureExtractor{c}, "n_fft");
}

TEST(FeatureThreads, ConcurrentComputeIsDeterministic) {
  FeatureExtractor fe(conformer_config());
  const auto x = test_signal();
  const auto want = fe.compute(x).to_vector();
  std::vector<std::vector<double>> got(4);
  std::vector<std::thread> th;
  for (int i = 0; i < 4; ++i)
    th.emplace_back([&, i] {
      for (int r = 0; r < 5; ++r) got[i] = fe.compute(x).to_vector();
    });
  for (auto& t : th) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}

}  // namespace
}  // namespace asr::audio
