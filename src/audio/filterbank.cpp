// Window and mel filterbank, following torch.*_window(periodic=False) and librosa.filters.mel
// step by step (same operation order and roundings) so a derived buffer matches the checkpoint's.
#include "asr/audio/filterbank.h"

#include <algorithm>
#include <cmath>

#include "asr/core/error.h"

namespace asr::audio {

std::vector<float> make_window(const std::string& name, int64_t length) {
  ASR_CHECK(length > 0, "make_window", "length must be positive, got ", length);
  std::vector<float> w(static_cast<size_t>(length), 1.0f);
  if (length == 1) return w;  // torch returns ones(1) for every symmetric window
  const double denom = static_cast<double>(length - 1);
  // torch builds these in f32: arange * scalar, then cos on the f32 values.
  if (name == "hann" || name == "hamming") {
    const float alpha = name == "hann" ? 0.5f : 0.54f, beta = name == "hann" ? 0.5f : 0.46f;
    const float step = static_cast<float>(2.0 * M_PI / denom);
    for (int64_t n = 0; n < length; ++n)
      w[n] = std::cos(static_cast<float>(n) * step) * -beta + alpha;
  } else if (name == "blackman") {
    const float step = static_cast<float>(M_PI / denom);
    for (int64_t n = 0; n < length; ++n) {
      const float a = static_cast<float>(n) * step;
      w[n] = std::cos(a * 4.0f) * 0.08f - std::cos(a * 2.0f) * 0.5f + 0.42f;
    }
  } else if (name == "bartlett") {
    const float step = static_cast<float>(2.0 / denom);
    const int64_t first_half = ((length - 1) >> 1) + 1;
    for (int64_t n = 0; n < length; ++n) {
      const float v = static_cast<float>(n) * step;
      w[n] = n < first_half ? v : 2.0f - v;
    }
  } else {
    throw Error("make_window: unsupported window '" + name +
                "' (supported: hann, hamming, blackman, bartlett)");
  }
  return w;
}

namespace {
constexpr double kFSp = 200.0 / 3;  // Slaney: linear part, Hz per mel
constexpr double kMinLogHz = 1000.0;
constexpr double kMinLogMel = kMinLogHz / kFSp;
const double kLogStep = std::log(6.4) / 27.0;
}  // namespace

double hz_to_mel(double hz, bool htk) {
  if (htk) return 2595.0 * std::log10(1.0 + hz / 700.0);
  if (hz >= kMinLogHz) return kMinLogMel + std::log(hz / kMinLogHz) / kLogStep;
  return hz / kFSp;
}

double mel_to_hz(double mel, bool htk) {
  if (htk) return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
  if (mel >= kMinLogMel) return kMinLogHz * std::exp(kLogStep * (mel - kMinLogMel));
  return kFSp * mel;
}

std::vector<float> mel_filterbank(double sample_rate, int64_t n_fft, int64_t n_mels, double fmin,
                                  double fmax, bool htk, const std::string& norm) {
  ASR_CHECK(sample_rate > 0 && n_fft > 0 && n_mels > 0, "mel_filterbank",
            "sample_rate, n_fft and n_mels must be positive");
  ASR_CHECK(fmin >= 0 && fmax > fmin, "mel_filterbank", "need 0 <= fmin < fmax, got fmin ", fmin,
            ", fmax ", fmax);
  const bool slaney = norm == "slaney";
  ASR_CHECK(slaney || norm.empty() || norm == "none", "mel_filterbank", "unsupported norm '", norm,
            "' (slaney or none)");
  const int64_t bins = n_fft / 2 + 1;
  // np.fft.rfftfreq(n_fft, 1/sr): k * (1 / (n_fft * (1/sr))).
  const double fft_step = 1.0 / (static_cast<double>(n_fft) * (1.0 / sample_rate));
  // mel_frequencies(n_mels + 2): np.linspace over the mel scale (endpoint exact), back to Hz.
  const int64_t m = n_mels + 2;
  const double lo = hz_to_mel(fmin, htk), hi = hz_to_mel(fmax, htk);
  const double step = (hi - lo) / static_cast<double>(m - 1);
  std::vector<double> mel_f(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i)
    mel_f[i] = mel_to_hz(i == m - 1 ? hi : static_cast<double>(i) * step + lo, htk);

  std::vector<float> w(static_cast<size_t>(n_mels * bins), 0.0f);
  for (int64_t i = 0; i < n_mels; ++i) {
    const double fdiff_lo = mel_f[i + 1] - mel_f[i], fdiff_hi = mel_f[i + 2] - mel_f[i + 1];
    const double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
    for (int64_t k = 0; k < bins; ++k) {
      const double f = static_cast<double>(k) * fft_step;
      const double lower = -(mel_f[i] - f) / fdiff_lo;
      const double upper = (mel_f[i + 2] - f) / fdiff_hi;
      // librosa stores into an f32 array first, then scales in f64 and rounds again.
      const float tri = static_cast<float>(std::max(0.0, std::min(lower, upper)));
      w[i * bins + k] = slaney ? static_cast<float>(static_cast<double>(tri) * enorm) : tri;
    }
  }
  return w;
}

}  // namespace asr::audio
