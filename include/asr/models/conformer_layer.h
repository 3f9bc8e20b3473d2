#pragma once
// One ConformerLayer in NeMo's order (macaron FF/2, relative MHSA, convolution module, FF/2,
// norm_out) and its two sub-blocks. Parameter names equal NeMo's state-dict keys below
// encoder.layers.<i>.
#include <memory>
#include <string>

#include "asr/models/adapters.h"
#include "asr/models/layers.h"
#include "asr/models/rel_pos_attention.h"
#include "asr/nn/module.h"

namespace asr::models {

struct ConformerLayerOptions {
  int64_t d_model = 176;
  int64_t ff_expansion_factor = 4;
  int64_t n_heads = 4;
  int64_t conv_kernel_size = 31;
  std::string conv_norm_type = "batch_norm";  // batch_norm | layer_norm
  bool use_bias = true;
  double dropout = 0.1;
  double dropout_att = 0.0;
};

// linear2(dropout(swish(linear1(x)))), d -> d_ff -> d.
class ConformerFeedForward : public nn::Module {
 public:
  ConformerFeedForward(int64_t d_model, int64_t d_ff, double dropout, bool use_bias, Generator& init,
                       GeneratorPtr dropout_gen);
  Tensor forward(const Tensor& x) const;  // [B, T, d]

 private:
  std::shared_ptr<nn::Linear> linear1_, linear2_;
  double dropout_;
  GeneratorPtr gen_;
};

// pointwise_conv1 (d -> 2d) -> GLU -> zero padding -> depthwise conv (K, pad (K-1)/2) ->
// batch_norm (BatchNorm1d or LayerNorm over channels) -> swish -> pointwise_conv2.
class ConformerConvolution : public nn::Module {
 public:
  ConformerConvolution(int64_t d_model, int64_t kernel_size, const std::string& norm_type,
                       bool use_bias, Generator& init);
  // x [B, T, d]; pad_mask Bool [B, T] (true = padding) or undefined -> [B, T, d].
  Tensor forward(const Tensor& x, const Tensor& pad_mask) const;
  // NeMo's freeze_batchnorm for adapter training: batch_norm then always runs on its running
  // statistics (and never updates them), even after train(true).
  void set_batch_norm_frozen(bool frozen) { bn_frozen_ = frozen; }

 private:
  bool bn_frozen_ = false;
  std::shared_ptr<Conv1d> pointwise_conv1_, depthwise_conv_, pointwise_conv2_;
  std::shared_ptr<BatchNorm1d> batch_norm_;
  std::shared_ptr<LayerNorm> layer_norm_;  // conv_norm_type layer_norm (key "batch_norm" too)
};

class ConformerLayer : public nn::Module {
 public:
  ConformerLayer(const ConformerLayerOptions& opt, Generator& init, GeneratorPtr dropout_gen);
  // x [B, T, d]; pos_emb [1, 2T-1, d]; att_mask Bool [B, T, T] and pad_mask Bool [B, T]
  // (true = masked) or both undefined when nothing is padded.
  Tensor forward(const Tensor& x, const Tensor& pos_emb, const Tensor& att_mask,
                 const Tensor& pad_mask) const;

  const ConformerLayerOptions& options() const { return opt_; }
  ConformerConvolution& conv() { return *conv_; }

  // NeMo's adapter_layer (created, as a child named "adapter_layer", on first use): enabled MHA
  // adapters run after the attention residual, enabled Linear adapters after norm_out.
  AdapterSet& adapter_layer(const std::shared_ptr<AdapterRuntime>& rt);
  AdapterSet* adapter_layer_if_any() const { return adapter_layer_.get(); }

 private:
  ConformerLayerOptions opt_;
  GeneratorPtr gen_;
  std::shared_ptr<LayerNorm> norm_feed_forward1_, norm_self_att_, norm_conv_, norm_feed_forward2_,
      norm_out_;
  std::shared_ptr<ConformerFeedForward> feed_forward1_, feed_forward2_;
  std::shared_ptr<RelPositionMultiHeadAttention> self_attn_;
  std::shared_ptr<ConformerConvolution> conv_;
  std::shared_ptr<AdapterSet> adapter_layer_;
};

}  // namespace asr::models
