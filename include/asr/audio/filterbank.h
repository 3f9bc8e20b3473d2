#pragma once
// The two constant buffers of NeMo's FilterbankFeatures, derived the way NeMo derives them when a
// checkpoint does not carry them (preprocessor.featurizer.window / .fb).
#include <cstdint>
#include <string>
#include <vector>

namespace asr::audio {

// torch.{hann,hamming,blackman,bartlett}_window(n, periodic=False) in f32. Other names throw.
std::vector<float> make_window(const std::string& name, int64_t length);

// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm) as f32, row-major
// [n_mels, n_fft/2+1]. norm: "slaney" (area normalisation) or "" / "none" (peak 1); other
// norms throw. Computed in double like librosa, rounded once.
std::vector<float> mel_filterbank(double sample_rate, int64_t n_fft, int64_t n_mels, double fmin,
                                  double fmax, bool htk = false,
                                  const std::string& norm = "slaney");

// librosa's mel scale (Slaney when htk is false), exposed for tests.
double hz_to_mel(double hz, bool htk = false);
double mel_to_hz(double mel, bool htk = false);

}  // namespace asr::audio
