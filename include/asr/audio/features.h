#pragma once
// NeMo's AudioToMelSpectrogramPreprocessor / FilterbankFeatures, reproduced in C++ (FFTW).
#include <vector>

#include "asr/core/tensor.h"
#include "asr/io/model_config.h"

namespace asr::audio {

class FeatureExtractor {
 public:
  // `filterbank` [1, n_mels, n_fft/2+1] and `window` [win_length] are the checkpoint's buffers
  // (preprocessor.featurizer.fb / .window) when present; undefined tensors mean "derive them".
  FeatureExtractor(const io::PreprocessorConfig& config, const Tensor& filterbank = Tensor(),
                   const Tensor& window = Tensor());

  // Features of one utterance: [n_mels, frames] f32; frames = NeMo's seq_len.
  Tensor compute(const std::vector<float>& samples) const;
  // A padded batch [B, n_mels, max_frames] (pad_value beyond each length) and lengths [B] I64.
  std::pair<Tensor, Tensor> compute_batch(const std::vector<std::vector<float>>& batch) const;
  int64_t num_frames(int64_t num_samples) const;
  const io::PreprocessorConfig& config() const { return config_; }

 private:
  io::PreprocessorConfig config_;
  std::vector<float> filterbank_;  // [n_mels, n_fft/2+1]
  std::vector<float> window_;      // [win_length]
};

}  // namespace asr::audio
