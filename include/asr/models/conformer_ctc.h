#pragma once
// NeMo's EncDecCTCModelBPE: ConformerEncoder (+ ConvSubsampling, RelPositionalEncoding,
// ConformerLayers) and ConvASRDecoder, with parameter names equal to NeMo's state-dict keys
// (encoder.layers.0.self_attn.linear_q.weight, decoder.decoder_layers.0.weight, ...).
#include <memory>

#include "asr/core/generator.h"
#include "asr/io/model_config.h"
#include "asr/io/model_file.h"
#include "asr/nn/module.h"

namespace asr::models {

struct CtcOutput {
  Tensor log_probs;  // [B, T', V + 1]; blank = V (last)
  Tensor lengths;    // [B] I64, encoder output lengths
  Tensor encoded;    // [B, d_model, T'] (NeMo's encoder output layout)
};

class ConformerCtcModel : public nn::Module {
 public:
  // Builds the architecture with random weights (PyTorch-style init) from `config`.
  ConformerCtcModel(const io::ModelConfig& config, Generator& gen);
  ~ConformerCtcModel() override;

  // features [B, n_mels, T] f32 (padded), lengths [B] I64. Outputs for a padded batch equal each
  // utterance run alone (padding is masked everywhere).
  CtcOutput forward(const Tensor& features, const Tensor& lengths) const;

  int64_t blank() const;
  int64_t num_outputs() const;  // V + 1
  const io::ModelConfig& config() const { return config_; }

 private:
  struct Impl;
  io::ModelConfig config_;
  std::unique_ptr<Impl> impl_;
};

// Builds the model for `file.config` and loads every encoder/decoder weight by name (strict:
// missing, unexpected or mis-shaped keys are errors naming the key). preprocessor.* keys are left
// to the FeatureExtractor. Frozen (mmap'ed) weights are shared, not copied.
std::unique_ptr<ConformerCtcModel> load_ctc_model(const io::ModelFile& file);

}  // namespace asr::models
