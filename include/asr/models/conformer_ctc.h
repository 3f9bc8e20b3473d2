#pragma once
// NeMo's EncDecCTCModelBPE: ConformerEncoder (+ ConvSubsampling, RelPositionalEncoding,
// ConformerLayers) and ConvASRDecoder, with parameter names equal to NeMo's state-dict keys
// (encoder.layers.0.self_attn.linear_q.weight, decoder.decoder_layers.0.weight, ...).
#include <memory>
#include <string>
#include <vector>

#include "asr/core/generator.h"
#include "asr/io/model_config.h"
#include "asr/io/model_file.h"
#include "asr/models/adapters.h"
#include "asr/nn/module.h"

namespace asr::models {

struct CtcOutput {
  Tensor log_probs;  // [B, T', V + 1]; blank = V (last)
  Tensor lengths;    // [B] I64, encoder output lengths
  Tensor encoded;    // [B, d_model, T'] (NeMo's encoder output layout)
};

class ConformerEncoder;
class ConvAsrDecoder;

class ConformerCtcModel : public nn::Module {
 public:
  // Builds the architecture with random weights (PyTorch-style init) from `config`, in training
  // mode as a fresh torch module. `dtype` F64 serves gradient checks. Dropout draws from a
  // generator the model owns, seeded from `gen`.
  ConformerCtcModel(const io::ModelConfig& config, Generator& gen, DType dtype = DType::F32);
  ~ConformerCtcModel() override;

  // features [B, n_mels, T] f32 (padded), lengths [B] I64. Outputs for a padded batch equal each
  // utterance run alone (padding is masked everywhere).
  CtcOutput forward(const Tensor& features, const Tensor& lengths) const;

  int64_t blank() const;
  int64_t num_outputs() const;  // V + 1
  const io::ModelConfig& config() const { return config_; }
  DType dtype() const { return dtype_; }

  ConformerEncoder& encoder();
  const ConformerEncoder& encoder() const;
  ConvAsrDecoder& decoder();
  const ConvAsrDecoder& decoder() const;
  // The dropout generator (set its state to reproduce a training step).
  Generator& dropout_generator();
  // Draws the initial weights of adapters added later (a trainer seeds it from its config).
  Generator& adapter_init_generator();

  // ---- adapters (NeMo's ASRAdapterModelMixin, spec §5) ----
  // `name` is "name" or "encoder:name" (every encoder layer, or only `layers`), "decoder:name"
  // (LinearAdapter before the decoder Conv1d) or "encoder+decoder:name". The adapter starts
  // enabled; in_features/n_feat is d_model. Keys: encoder.layers.<i>.adapter_layer.<name>.* and
  // decoder.adapter_layer.<name>.*. Enabled adapters run in insertion order.
  void add_adapter(const std::string& name, const AdapterConfig& cfg,
                   const std::vector<int64_t>& layers = {});
  void add_adapter(const AdapterSpec& spec);  // add_adapter(full_name, config, layers) + enabled
  // Every adapter as added (insertion order), with its current enabled flag.
  std::vector<AdapterSpec> adapter_specs() const;
  void set_adapter_enabled(const std::string& name, bool enabled);  // bare name
  void set_all_adapters_enabled(bool enabled);
  std::vector<std::string> adapter_names() const;     // insertion order
  std::vector<std::string> enabled_adapters() const;  // insertion order
  // NeMo's freeze() + unfreeze_enabled_adapters(freeze_batchnorm=True): every parameter except
  // those of the enabled adapters stops requiring grad, BatchNorm uses (and keeps) its running
  // statistics even in train(true), and the trainable parameters are moved into one flat
  // parameter buffer with one flat gradient buffer (gradients accumulate there in place). Call
  // again after enabling other adapters; load_state_dict afterwards detaches the buffers.
  // After it, use set_adapter_training_mode(): the frozen base runs in eval mode (NeMo's freeze():
  // no dropout) and only the enabled adapters in training mode.
  void freeze_base_for_adapters();
  // Adapter training's module modes: the whole model in eval mode, then the enabled adapters in
  // training mode (their dropout, stochastic depth and L2 loss active) — what NeMo's freeze() +
  // unfreeze_enabled_adapters() leave for Lightning >= 2.2, which no longer calls model.train().
  void set_adapter_training_mode();
  // Full training: every parameter trains (adapters included), BatchNorm updates its running
  // statistics in train(true); parameters move into the same flat buffers as above.
  void prepare_full_training();
  const Tensor& flat_parameters() const;  // undefined before freeze_base_for_adapters()
  const Tensor& flat_gradients() const;
  int64_t num_trainable_parameters() const;  // elements of parameters that require grad

  // ---- placement and precision (GPU training) ----
  // (device(), from nn::Module, is where the parameters live; forward() moves CPU features there.)
  // Moves every parameter and buffer to `device`; flat parameter/gradient buffers made by
  // freeze_base_for_adapters() or prepare_full_training() are rebuilt there (values kept).
  void to_device(Device device);
  // Mixed precision for adapter training (trainer.precision: bf16): the weights of the frozen
  // nn::Linear layers and 1x1 convolutions (every GEMM of the backbone: attention, feed-forward,
  // pointwise convs, subsampling output, decoder) become bf16, converted once. Their GEMMs then take
  // bf16 operands with f32 accumulation; activations, LayerNorm, softmax, BatchNorm, CTC and the
  // trainable parameters (f32 master weights) stay f32. Returns the number of converted weights.
  int64_t convert_frozen_linear_weights(DType dtype);
  // Sum of the adapters' auxiliary (L2) losses registered by the last forward (training only);
  // undefined when there are none. The trainer adds it to the CTC loss.
  Tensor auxiliary_loss() const;

 private:
  void flatten_trainable_parameters();
  struct Impl;
  io::ModelConfig config_;
  DType dtype_;
  std::unique_ptr<Impl> impl_;
};

// Builds the model for `file.config` and loads every encoder/decoder weight by name (strict:
// missing, unexpected or mis-shaped keys are errors naming the key). preprocessor.* keys are left
// to the FeatureExtractor. Frozen (mmap'ed) weights are shared, not copied. The model comes back
// in eval mode (dropout off, BatchNorm on running statistics).
std::unique_ptr<ConformerCtcModel> load_ctc_model(const io::ModelFile& file);

}  // namespace asr::models
