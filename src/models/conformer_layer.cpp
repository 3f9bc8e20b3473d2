#include "asr/models/conformer_layer.h"
#include "asr/ops/ops.h"

namespace asr::models {

ConformerLayer::ConformerLayer(const ConformerLayerOptions& opt, Generator& init,
                               GeneratorPtr dropout_gen)
    : opt_(opt), gen_(std::move(dropout_gen)) {
  const int64_t d = opt.d_model, d_ff = opt.d_model * opt.ff_expansion_factor;
  // Registration order follows NeMo's __init__ (state-dict order).
  norm_feed_forward1_ = register_module("norm_feed_forward1", std::make_shared<LayerNorm>(d));
  feed_forward1_ = register_module(
      "feed_forward1", std::make_shared<ConformerFeedForward>(d, d_ff, opt.dropout, opt.use_bias, init, gen_));
  norm_conv_ = register_module("norm_conv", std::make_shared<LayerNorm>(d));
  conv_ = register_module("conv", std::make_shared<ConformerConvolution>(
                                      d, opt.conv_kernel_size, opt.conv_norm_type, opt.use_bias, init));
  norm_self_att_ = register_module("norm_self_att", std::make_shared<LayerNorm>(d));
  self_attn_ = register_module("self_attn", std::make_shared<RelPositionMultiHeadAttention>(
                                                opt.n_heads, d, opt.dropout_att, opt.use_bias, init, gen_));
  norm_feed_forward2_ = register_module("norm_feed_forward2", std::make_shared<LayerNorm>(d));
  feed_forward2_ = register_module(
      "feed_forward2", std::make_shared<ConformerFeedForward>(d, d_ff, opt.dropout, opt.use_bias, init, gen_));
  norm_out_ = register_module("norm_out", std::make_shared<LayerNorm>(d));
}

Tensor ConformerLayer::forward(const Tensor& x, const Tensor& pos_emb, const Tensor& att_mask,
                               const Tensor& pad_mask) const {
  const bool training = is_training();
  auto drop = [&](const Tensor& y) { return ops::dropout(y, opt_.dropout, training, *gen_); };
  Tensor r = x;
  r = ops::add(r, ops::scale(drop(feed_forward1_->forward(norm_feed_forward1_->forward(r))), 0.5));
  r = ops::add(r, drop(self_attn_->forward(norm_self_att_->forward(r), pos_emb, att_mask)));
  if (adapter_layer_) r = adapter_layer_->forward_mha(r, pos_emb, att_mask);
  r = ops::add(r, drop(conv_->forward(norm_conv_->forward(r), pad_mask)));
  r = ops::add(r, ops::scale(drop(feed_forward2_->forward(norm_feed_forward2_->forward(r))), 0.5));
  Tensor y = norm_out_->forward(r);
  if (adapter_layer_) y = adapter_layer_->forward_post(y);
  return y;
}

AdapterSet& ConformerLayer::adapter_layer(const std::shared_ptr<AdapterRuntime>& rt) {
  if (!adapter_layer_) {
    adapter_layer_ = register_module("adapter_layer", std::make_shared<AdapterSet>(rt));
    adapter_layer_->train(is_training());
  }
  return *adapter_layer_;
}

}  // namespace asr::models
