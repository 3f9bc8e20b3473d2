#include "asr/models/conformer_layer.h"
#include "asr/ops/ops.h"

namespace asr::models {

ConformerConvolution::ConformerConvolution(int64_t d_model, int64_t kernel_size,
                                           const std::string& norm_type, bool use_bias,
                                           Generator& init) {
  ASR_CHECK(kernel_size >= 1 && kernel_size % 2 == 1, "ConformerConvolution",
            "conv_kernel_size must be odd, got ", kernel_size);
  pointwise_conv1_ = register_module(
      "pointwise_conv1", std::make_shared<Conv1d>(d_model, 2 * d_model, 1, 1, 0, 1, use_bias, init));
  depthwise_conv_ = register_module(
      "depthwise_conv", std::make_shared<Conv1d>(d_model, d_model, kernel_size, 1,
                                                 (kernel_size - 1) / 2, d_model, use_bias, init));
  if (norm_type == "batch_norm")
    batch_norm_ = register_module("batch_norm", std::make_shared<BatchNorm1d>(d_model));
  else if (norm_type == "layer_norm")
    layer_norm_ = register_module("batch_norm", std::make_shared<LayerNorm>(d_model));
  else
    throw Error("ConformerConvolution: unsupported conv_norm_type '" + norm_type +
                "' (supported: batch_norm, layer_norm)");
  pointwise_conv2_ = register_module(
      "pointwise_conv2", std::make_shared<Conv1d>(d_model, d_model, 1, 1, 0, 1, use_bias, init));
}

Tensor ConformerConvolution::forward(const Tensor& x, const Tensor& pad_mask) const {
  // The 1x1 convolutions run as Linears on [B, T, C]; only the depthwise conv and BatchNorm
  // need the channels-first layout.
  // GLU and the padding mask in one pass: [B, T, 2d] -> [B, T, d], padded frames zero.
  Tensor h = ops::masked_glu(pointwise_conv1_->forward_pointwise_last(x), pad_mask);
  if (batch_norm_) {
    // Module::train() is not virtual and recurses into every child, so the frozen state is
    // enforced here, where the statistics are used.
    if (bn_frozen_ && batch_norm_->is_training()) batch_norm_->train(false);
    if (batch_norm_->is_training()) {
      h = batch_norm_->forward(depthwise_conv_->forward(h.transpose(1, 2)));  // [B, d, T]
    } else {
      // Running statistics make BatchNorm a per-channel affine map: folded into the depthwise
      // conv (d x kernel numbers), the [B, d, T] activation skips a read and a write each way.
      const auto [scale, shift] = batch_norm_->eval_affine();
      h = depthwise_conv_->forward_then_affine(h.transpose(1, 2), scale, shift);
    }
    h = ops::silu(h).transpose(1, 2);
  } else {
    h = ops::silu(layer_norm_->forward(depthwise_conv_->forward(h.transpose(1, 2)).transpose(1, 2)));
  }
  return pointwise_conv2_->forward_pointwise_last(h);
}

}  // namespace asr::models
