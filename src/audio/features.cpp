// FilterbankFeatures (NeMo >= 2.5, or < 2.5 with legacy_nemo_pre_2_5), inference path:
// pre-emphasis -> STFT (center, zero pad; legacy: reflect) -> |X|^p -> mel -> log -> normalise.
// Arithmetic is f32 where torch's is (pre-emphasis, window, FFT, power, log, final affine);
// reductions (mel dot products, mean/std) accumulate in double.
#include "asr/audio/features.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include "asr/audio/filterbank.h"
#include "stft.h"
#include "vec_log.h"

namespace asr::audio {
namespace {

constexpr const char* kOp = "features";

// torch.floor_divide on integers (rounds toward -inf).
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// torch's reflect padding index (edge sample not repeated); valid while pad < n.
int64_t reflect_index(int64_t i, int64_t n) {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

std::vector<float> checked_buffer(const Tensor& t, int64_t expect, const char* what,
                                  const std::string& shape_note) {
  ASR_CHECK(t.numel() == expect, kOp, what, " has shape ", t.describe(), ", expected ", shape_note);
  return t.to_float_vector();
}

}  // namespace

FeatureExtractor::FeatureExtractor(const io::PreprocessorConfig& config, const Tensor& filterbank,
                                   const Tensor& window)
    : config_(config) {
  const auto& c = config_;
  ASR_CHECK(c.sample_rate > 0, kOp, "sample_rate must be positive, got ", c.sample_rate);
  // int(window_size * sample_rate) etc., as AudioToMelSpectrogramPreprocessor derives them.
  win_length_ = c.win_length();
  hop_ = c.hop_length();
  ASR_CHECK(win_length_ > 0 && hop_ > 0, kOp, "window_size ", c.window_size,
            " s and window_stride ", c.window_stride, " s give no whole samples at ", c.sample_rate,
            " Hz");
  n_fft_ = c.fft_size();
  ASR_CHECK(n_fft_ >= win_length_, kOp, "n_fft ", n_fft_, " is shorter than the window (",
            win_length_, " samples)");
  ASR_CHECK(n_fft_ % 2 == 0, kOp, "odd n_fft ", n_fft_, " is not supported");
  ASR_CHECK(c.features > 0, kOp, "features (n_mels) must be positive, got ", c.features);
  ASR_CHECK(c.frame_splicing == 1, kOp, "frame_splicing ", c.frame_splicing,
            " is not supported (only 1)");
  ASR_CHECK(c.log_zero_guard_type == "add" || c.log_zero_guard_type == "clamp", kOp,
            "log_zero_guard_type must be 'add' or 'clamp', got '", c.log_zero_guard_type, "'");
  ASR_CHECK(!(c.exact_pad && hop_ % 2 == 1), kOp, "exact_pad needs an even hop, got ", hop_);
  ASR_CHECK(c.mag_power > 0, kOp, "mag_power must be positive, got ", c.mag_power);
  pad_ = c.exact_pad ? (n_fft_ - hop_) / 2 : n_fft_ / 2;

  window_ = window.defined()
                ? checked_buffer(window, win_length_, "window", str_cat("[", win_length_, "]"))
                : make_window(c.window, win_length_);
  const int64_t bins = n_fft_ / 2 + 1;
  if (filterbank.defined()) {
    filterbank_ = checked_buffer(filterbank, c.features * bins, "filterbank",
                                 str_cat("[1, ", c.features, ", ", bins, "]"));
  } else {
    const double fmax = c.highfreq > 0 ? c.highfreq : static_cast<double>(c.sample_rate) / 2;
    filterbank_ = mel_filterbank(static_cast<double>(c.sample_rate), n_fft_, c.features, c.lowfreq,
                                 fmax, false, c.mel_norm);
  }
  // Each mel filter is a triangle: only its nonzero bins enter the dot product (exact, since
  // the skipped terms are 0 * finite).
  mel_ranges_.resize(static_cast<size_t>(c.features));
  for (int64_t m = 0; m < c.features; ++m) {
    const float* row = filterbank_.data() + m * bins;
    int64_t b = 0, e = bins;
    while (b < bins && row[b] == 0.0f) ++b;
    while (e > b && row[e - 1] == 0.0f) --e;
    mel_ranges_[m] = {b, e};
  }
  fft_ = std::make_shared<const detail::RealFft>(n_fft_);
}

int64_t FeatureExtractor::stft_frames(int64_t num_samples) const {
  const int64_t span = num_samples + 2 * pad_ - n_fft_;
  return span < 0 ? 0 : span / hop_ + 1;
}

int64_t FeatureExtractor::num_frames(int64_t num_samples) const {
  // NeMo >= 2.5 drops the last STFT frame (it mostly sees padding): (L + 2p - n_fft) // hop.
  const int64_t n =
      floor_div(num_samples + 2 * pad_ - n_fft_, hop_) + (config_.legacy_nemo_pre_2_5 ? 1 : 0);
  return std::max<int64_t>(n, 0);
}

void FeatureExtractor::compute_into(const std::vector<float>& x, int64_t frames, float* out) const {
  const auto& c = config_;
  const int64_t L = static_cast<int64_t>(x.size());
  const bool legacy = c.legacy_nemo_pre_2_5;
  ASR_CHECK(!legacy || pad_ < L, kOp, "legacy reflect padding needs more than ", pad_,
            " samples, got ", L);
  const float preemph = static_cast<float>(c.preemph);

  // The padded, pre-emphasised signal the STFT frames are cut from. NeMo pre-emphasises before
  // torch.stft's center padding, but after exact_pad's manual padding.
  const int64_t Lp = L + 2 * pad_;
  std::vector<float> sig(static_cast<size_t>(Lp), 0.0f);
  auto padded_input = [&](int64_t i) -> float {  // x padded by pad_ each side
    const int64_t j = i - pad_;
    if (j >= 0 && j < L) return x[j];
    return legacy ? x[reflect_index(j, L)] : 0.0f;
  };
  auto emphasise = [&](const auto& src, int64_t n, float* dst) {
    dst[0] = src(0);
    for (int64_t i = 1; i < n; ++i) {
      const float prev = preemph * src(i - 1);  // two f32 roundings, as torch's mul then sub
      dst[i] = src(i) - prev;
    }
  };
  if (c.exact_pad) {
    emphasise(padded_input, Lp, sig.data());
    // NeMo >= 2.5 zeroes indices >= L of the already padded signal (its time mask ignores the
    // exact_pad shift); reproduced as is.
    if (!legacy)
      for (int64_t i = L; i < Lp; ++i) sig[i] = 0.0f;
  } else {
    // Emphasise straight into the middle (plain arrays, so the loop vectorises); only the two
    // pads are filled separately.
    float* mid = sig.data() + pad_;
    mid[0] = x[0];
    for (int64_t i = 1; i < L; ++i) mid[i] = x[i] - preemph * x[i - 1];
    if (legacy) {
      for (int64_t i = 0; i < pad_; ++i) sig[i] = mid[reflect_index(i - pad_, L)];
      for (int64_t i = pad_ + L; i < Lp; ++i) sig[i] = mid[reflect_index(i - pad_, L)];
    }
  }

  const int64_t bins = n_fft_ / 2 + 1, n_mels = c.features;
  const int64_t wleft = (n_fft_ - win_length_) / 2;  // torch centres a short window in n_fft
  detail::FftwBuffer buf = detail::fftw_floats(n_fft_), spec = detail::fftw_floats(2 * bins);
  std::fill(buf.get(), buf.get() + n_fft_, 0.0f);
  // Frames go through the mel filters kFrames at a time: power is [bins][kFrames], so the
  // inner loop runs across frames (vector lanes) with each frame's sum in the same order as one
  // frame at a time.
  constexpr int64_t kFrames = 8;
  std::vector<float> power(static_cast<size_t>(bins * kFrames), 0.0f);
  const float guard = static_cast<float>(c.log_zero_guard_value);
  const bool clamp = c.log_zero_guard_type == "clamp";
  const bool square = c.mag_power == 2.0;
  const float mag_power = static_cast<float>(c.mag_power);

  for (int64_t t0 = 0; t0 < frames; t0 += kFrames) {
    const int64_t nf = std::min(kFrames, frames - t0);
    for (int64_t f = 0; f < nf; ++f) {
      const float* frame = sig.data() + (t0 + f) * hop_ + wleft;
      for (int64_t n = 0; n < win_length_; ++n) buf[wleft + n] = frame[n] * window_[n];
      fft_->forward(buf.get(), spec.get());
      for (int64_t k = 0; k < bins; ++k) {
        const float re = spec[2 * k], im = spec[2 * k + 1];
        const float mag = std::sqrt(re * re + im * im);  // torch: sqrt(re^2 + im^2), then pow
        power[k * kFrames + f] = square ? mag * mag : std::pow(mag, mag_power);
      }
    }
    for (int64_t m = 0; m < n_mels; ++m) {
      const float* fb = filterbank_.data() + m * bins;
      double acc[kFrames] = {};
      for (int64_t k = mel_ranges_[m].first; k < mel_ranges_[m].second; ++k) {
        const double w = fb[k];
        const float* p = power.data() + k * kFrames;
        for (int64_t f = 0; f < kFrames; ++f) acc[f] += w * p[f];
      }
      float* dst = out + m * frames + t0;
      for (int64_t f = 0; f < nf; ++f) {
        const float v = static_cast<float>(acc[f]);
        dst[f] = !c.log ? v : clamp ? std::max(v, guard) : v + guard;
      }
    }
  }
  // The logs of all frames in one vectorised pass.
  if (c.log) detail::log_floats(out, out, n_mels * frames);

  // normalize_batch over the valid frames; unbiased std (NaN for one frame -> 0), + 1e-5.
  // Sums in double over four interleaved accumulators (a single one is a chain of dependent
  // adds), combined as (s0 + s1) + (s2 + s3): a fixed order, so the result is deterministic.
  auto sum4 = [](const float* row, int64_t count, auto term) {
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t i = 0;
    for (; i + 4 <= count; i += 4)
      for (int j = 0; j < 4; ++j) s[j] += term(row[i + j]);
    for (; i < count; ++i) s[0] += term(row[i]);
    return (s[0] + s[1]) + (s[2] + s[3]);
  };
  auto normalise = [&](float* row, int64_t count) {
    const double sum = sum4(row, count, [](float v) { return static_cast<double>(v); });
    const float mean = static_cast<float>(sum / static_cast<double>(count));
    const double ss = sum4(row, count, [mean](float v) {
      const double d = static_cast<double>(v) - mean;
      return d * d;
    });
    const float sd =
        count > 1 ? static_cast<float>(std::sqrt(ss / static_cast<double>(count - 1))) : 0.0f;
    const float denom = sd + 1e-5f;
    for (int64_t i = 0; i < count; ++i) row[i] = (row[i] - mean) / denom;
  };
  if (c.normalize == "per_feature") {
    for (int64_t m = 0; m < n_mels; ++m) normalise(out + m * frames, frames);
  } else if (c.normalize == "all_features") {
    normalise(out, n_mels * frames);
  }  // other values: no normalisation (NeMo ignores unknown normalize strings too)
}

Tensor FeatureExtractor::compute(const std::vector<float>& samples) const {
  const int64_t frames = num_frames(static_cast<int64_t>(samples.size()));
  ASR_CHECK(frames > 0, kOp, "a signal of ", samples.size(),
            " samples is too short for one frame (hop ", hop_, ", n_fft ", n_fft_, ")");
  Tensor out = Tensor::empty({config_.features, frames}, DType::F32);
  compute_into(samples, frames, out.data<float>());
  return out;
}

std::pair<Tensor, Tensor> FeatureExtractor::compute_batch(
    const std::vector<std::vector<float>>& batch) const {
  ASR_CHECK(!batch.empty(), kOp, "empty batch");
  const int64_t B = static_cast<int64_t>(batch.size()), n_mels = config_.features;
  std::vector<int64_t> lengths(batch.size());
  int64_t width = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t L = static_cast<int64_t>(batch[b].size());
    lengths[b] = num_frames(L);
    ASR_CHECK(lengths[b] > 0, kOp, "batch item ", b, ": a signal of ", L,
              " samples is too short for one frame (hop ", hop_, ")");
    width = std::max({width, stft_frames(L), lengths[b]});
  }
  if (config_.pad_to > 0 && width % config_.pad_to != 0)
    width += config_.pad_to - width % config_.pad_to;

  Tensor feats = Tensor::full({B, n_mels, width}, config_.pad_value, DType::F32);
  float* dst = feats.data<float>();
  std::vector<std::exception_ptr> errors(batch.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t b = 0; b < B; ++b) {
    try {
      const int64_t T = lengths[b];
      std::vector<float> one(static_cast<size_t>(n_mels * T));
      compute_into(batch[b], T, one.data());
      for (int64_t m = 0; m < n_mels; ++m)
        std::copy(one.begin() + m * T, one.begin() + (m + 1) * T, dst + (b * n_mels + m) * width);
    } catch (...) {
      errors[b] = std::current_exception();
    }
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return {feats, Tensor::from_vector(lengths, {B})};
}

}  // namespace asr::audio
