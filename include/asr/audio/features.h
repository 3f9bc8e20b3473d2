#pragma once
// NeMo's AudioToMelSpectrogramPreprocessor / FilterbankFeatures, reproduced in C++ (FFTW).
// Inference only: no dither. Thread-safe: compute() may run concurrently on one extractor.
#include <memory>
#include <vector>

#include "asr/core/tensor.h"
#include "asr/io/model_config.h"

namespace asr::audio {

namespace detail {
class RealFft;
}

class FeatureExtractor {
 public:
  // `filterbank` [1, n_mels, n_fft/2+1] and `window` [win_length] are the checkpoint's buffers
  // (preprocessor.featurizer.fb / .window) when present; undefined tensors mean "derive them".
  FeatureExtractor(const io::PreprocessorConfig& config, const Tensor& filterbank = Tensor(),
                   const Tensor& window = Tensor());

  // Features of one utterance: [n_mels, frames] f32; frames = NeMo's seq_len.
  // A signal too short for one frame (fewer than hop samples) is an asr::Error.
  Tensor compute(const std::vector<float>& samples) const;
  // A padded batch [B, n_mels, max_frames] (pad_value beyond each length) and lengths [B] I64.
  // max_frames is the width NeMo's preprocessor returns for the same zero-padded batch: the STFT
  // frame count of the longest signal (one more than its seq_len since NeMo 2.5), rounded up to a
  // multiple of pad_to when pad_to > 0. Valid frames equal compute() of each signal.
  std::pair<Tensor, Tensor> compute_batch(const std::vector<std::vector<float>>& batch) const;
  // NeMo's seq_len for a signal of num_samples (0 when too short for a frame).
  int64_t num_frames(int64_t num_samples) const;
  const io::PreprocessorConfig& config() const { return config_; }
  int64_t win_length() const { return win_length_; }
  int64_t hop_length() const { return hop_; }
  int64_t n_fft() const { return n_fft_; }
  const std::vector<float>& filterbank() const { return filterbank_; }
  const std::vector<float>& window() const { return window_; }

 private:
  int64_t stft_frames(int64_t num_samples) const;  // frames torch.stft yields (before masking)
  void compute_into(const std::vector<float>& samples, int64_t frames, float* out) const;

  io::PreprocessorConfig config_;
  std::vector<float> filterbank_;  // [n_mels, n_fft/2+1]
  std::vector<float> window_;      // [win_length]
  int64_t win_length_ = 0, hop_ = 0, n_fft_ = 0, pad_ = 0;  // pad_: STFT padding per side
  std::vector<std::pair<int64_t, int64_t>> mel_ranges_;    // nonzero [begin, end) bins per mel
  std::shared_ptr<const detail::RealFft> fft_;
};

}  // namespace asr::audio
