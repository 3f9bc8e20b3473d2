#include "asr/models/conformer_layer.h"
#include "asr/ops/ops.h"

namespace asr::models {

ConformerFeedForward::ConformerFeedForward(int64_t d_model, int64_t d_ff, double dropout,
                                           bool use_bias, Generator& init, GeneratorPtr dropout_gen)
    : dropout_(dropout), gen_(std::move(dropout_gen)) {
  linear1_ = register_module("linear1", std::make_shared<nn::Linear>(d_model, d_ff, use_bias, init));
  linear2_ = register_module("linear2", std::make_shared<nn::Linear>(d_ff, d_model, use_bias, init));
}

Tensor ConformerFeedForward::forward(const Tensor& x) const {
  // linear1's bias is added inside the activation's pass (bias_silu), not by the GEMM.
  const Tensor& b1 = linear1_->bias();
  Tensor h = b1.defined() ? ops::bias_silu(ops::linear(x, linear1_->weight(), Tensor()), b1)
                          : ops::silu(linear1_->forward(x));
  h = ops::dropout(h, dropout_, is_training(), *gen_);
  return linear2_->forward(h);
}

}  // namespace asr::models
