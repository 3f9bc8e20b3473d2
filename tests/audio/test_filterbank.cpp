// Window and mel filterbank against torch / librosa (tests/fixtures/audio,
// tools/make_audio_fixtures.py).
#include <gtest/gtest.h>

#include <cmath>

#include "asr/audio/filterbank.h"
#include "golden/golden_io.h"
#include "support/test_util.h"

namespace asr::audio {
namespace {

golden::File& reference() {
  static golden::File f("../fixtures/audio/features_reference.h5");
  return f;
}

void expect_close(const std::vector<float>& got, const golden::Array& ref, double atol,
                  const std::string& what) {
  ASSERT_EQ(static_cast<int64_t>(got.size()), shape_numel(ref.shape)) << what;
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(got[i] - ref.data[i]);
    if (d > worst) worst = d, at = i;
  }
  EXPECT_LE(worst, atol) << what << ": element " << at << " got " << got[at] << " want "
                         << ref.data[at];
}

TEST(Window, HannIsSymmetricWithZeroEndsAndKnownValues) {
  const auto w = make_window("hann", 400);
  ASSERT_EQ(w.size(), 400u);
  EXPECT_EQ(w[0], 0.0f);
  EXPECT_NEAR(w[399], 0.0f, 1e-7);
  for (int n = 0; n < 400; ++n) EXPECT_NEAR(w[n], w[399 - n], 1e-6) << n;
  // 0.5 - 0.5 cos(2 pi n / 399)
  EXPECT_NEAR(w[1], 6.1989e-05, 1e-8);
  EXPECT_NEAR(w[100], 0.5 - 0.5 * std::cos(2 * M_PI * 100 / 399), 1e-6);
  EXPECT_NEAR(w[199], 0.5 - 0.5 * std::cos(2 * M_PI * 199 / 399), 1e-6);
  EXPECT_LT(w[199], 1.0f);  // symmetric window of even length: no sample at the peak
}

TEST(Window, MatchesTorchSymmetricWindows) {
  expect_close(make_window("hann", 400), reference().read("window/hann_400"), 2e-7, "hann_400");
  for (const char* name : {"hamming", "blackman", "bartlett"})
    for (int n : {24, 25})
      expect_close(make_window(name, n),
                   reference().read(std::string("window/") + name + "_" + std::to_string(n)), 2e-7,
                   std::string(name) + std::to_string(n));
}

TEST(Window, UnknownNameIsAnError) {
  EXPECT_ASR_ERROR(make_window("kaiser", 10), "kaiser");
  EXPECT_ASR_ERROR(make_window("hann", 0), "length");
}

TEST(MelScale, SlaneyIsLinearBelow1kHzAndLogAbove) {
  EXPECT_DOUBLE_EQ(hz_to_mel(0.0), 0.0);
  EXPECT_NEAR(hz_to_mel(500.0), 7.5, 1e-12);
  EXPECT_NEAR(hz_to_mel(1000.0), 15.0, 1e-12);
  EXPECT_NEAR(hz_to_mel(8000.0), 15.0 + std::log(8.0) * 27.0 / std::log(6.4), 1e-9);
  for (double hz : {10.0, 700.0, 999.0, 1000.0, 4321.0, 8000.0})
    EXPECT_NEAR(mel_to_hz(hz_to_mel(hz)), hz, 1e-9 * hz);
  EXPECT_NEAR(hz_to_mel(700.0, true), 2595.0 * std::log10(2.0), 1e-9);
}

TEST(MelFilterbank, MatchesLibrosaSlaney) {
  expect_close(mel_filterbank(8000, 64, 10, 0, 4000), reference().read("mel/slaney_8k_64_10"), 1e-9,
               "slaney 8k");
  // rows 0, 1, 40, 79 of the 16 kHz / 512 / 80 filterbank every Conformer config uses
  const auto fb = mel_filterbank(16000, 512, 80, 0, 8000);
  const auto ref = reference().read("mel/slaney_16k_512_80_rows");
  std::vector<float> rows;
  for (int r : {0, 1, 40, 79})
    rows.insert(rows.end(), fb.begin() + r * 257, fb.begin() + (r + 1) * 257);
  expect_close(rows, ref, 1e-9, "slaney 16k rows");
  // librosa, printed: fb[0, 1] (the first filter's peak bin) and fb[79, 250]
  EXPECT_NEAR(fb[1], 0.02253456, 1e-8);
  EXPECT_NEAR(fb[79 * 257 + 250], 0.002103558, 1e-9);
}

TEST(MelFilterbank, MatchesLibrosaHtkWithoutNorm) {
  expect_close(mel_filterbank(16000, 128, 12, 100, 7000, true, "none"),
               reference().read("mel/htk_nonorm_16k_128_12_100_7000"), 1e-9, "htk");
}

TEST(MelFilterbank, RejectsUnsupportedNormAndRange) {
  EXPECT_ASR_ERROR(mel_filterbank(16000, 512, 80, 0, 8000, false, "l2"), "norm");
  EXPECT_ASR_ERROR(mel_filterbank(16000, 512, 80, 5000, 4000), "fmin");
}

}  // namespace
}  // namespace asr::audio
