#include "asr/models/layers.h"

#include <cmath>

#include "asr/autograd/node.h"
#include "asr/ops/ops.h"

namespace asr::models {

namespace {
// PyTorch's default for conv weights and biases: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)).
Tensor uniform_fan_in(const Shape& shape, int64_t fan_in, Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  return Tensor::rand(shape, gen, -bound, bound);
}
}  // namespace

Conv1d::Conv1d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
               int64_t groups, bool bias, Generator& gen)
    : stride_(stride), padding_(padding), groups_(groups) {
  ASR_CHECK(in % groups == 0 && out % groups == 0, "Conv1d", "groups ", groups,
            " must divide channels ", in, " -> ", out);
  const int64_t fan_in = in / groups * kernel;
  weight_ = register_parameter("weight", uniform_fan_in({out, in / groups, kernel}, fan_in, gen));
  if (bias) bias_ = register_parameter("bias", uniform_fan_in({out}, fan_in, gen));
}

Tensor Conv1d::forward(const Tensor& x) const {
  return ops::conv1d(x, weight_, bias_, stride_, padding_, groups_);
}

Tensor Conv1d::forward_then_affine(const Tensor& x, const Tensor& scale, const Tensor& shift) const {
  const int64_t out = weight_.size(0);
  ASR_CHECK(scale.dim() == 1 && scale.size(0) == out && shift.dim() == 1 && shift.size(0) == out,
            "Conv1d.forward_then_affine", "scale and shift must be [", out, "], got ", scale.describe(), " and ",
            shift.describe());
  const Tensor w = ops::mul(weight_, scale.view({out, 1, 1}));
  const Tensor b = bias_.defined() ? ops::add(ops::mul(bias_, scale), shift) : shift;
  return ops::conv1d(x, w, b, stride_, padding_, groups_);
}

Tensor Conv1d::forward_pointwise_last(const Tensor& x) const {
  ASR_CHECK(is_pointwise(), "Conv1d.forward_pointwise_last", "needs a 1x1 convolution, weight ", weight_.describe());
  return ops::linear(x, weight_.view({weight_.size(0), weight_.size(1)}), bias_);
}

Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
               int64_t groups, bool bias, Generator& gen)
    : kernel_(kernel), stride_(stride), padding_(padding), groups_(groups) {
  ASR_CHECK(in % groups == 0 && out % groups == 0, "Conv2d", "groups ", groups,
            " must divide channels ", in, " -> ", out);
  const int64_t fan_in = in / groups * kernel * kernel;
  weight_ = register_parameter("weight",
                               uniform_fan_in({out, in / groups, kernel, kernel}, fan_in, gen));
  if (bias) bias_ = register_parameter("bias", uniform_fan_in({out}, fan_in, gen));
}

Tensor Conv2d::forward(const Tensor& x) const {
  return ops::conv2d(x, weight_, bias_, stride_, padding_, groups_);
}

LayerNorm::LayerNorm(int64_t d, double eps) : eps_(eps) {
  weight_ = register_parameter("weight", Tensor::ones({d}));
  bias_ = register_parameter("bias", Tensor::zeros({d}));
}

Tensor LayerNorm::forward(const Tensor& x) const { return ops::layer_norm(x, weight_, bias_, eps_); }

BatchNorm1d::BatchNorm1d(int64_t d, double eps, double momentum) : eps_(eps), momentum_(momentum) {
  weight_ = register_parameter("weight", Tensor::ones({d}));
  bias_ = register_parameter("bias", Tensor::zeros({d}));
  running_mean_ = register_buffer("running_mean", Tensor::zeros({d}));
  running_var_ = register_buffer("running_var", Tensor::ones({d}));
  num_batches_tracked_ = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::I64));
}

Tensor BatchNorm1d::forward(const Tensor& x) const {
  const bool training = is_training();
  Tensor y = ops::batch_norm(x, weight_, bias_, running_mean_, running_var_, training, momentum_,
                             eps_);
  if (training) {
    Tensor n = num_batches_tracked_;
    n.fill_(n.item() + 1);
  }
  return y;
}

std::pair<Tensor, Tensor> BatchNorm1d::eval_affine() const {
  const Tensor scale = ops::div(weight_, ops::sqrt(ops::add_scalar(running_var_, eps_)));
  return {scale, ops::sub(bias_, ops::mul(running_mean_, scale))};
}

void convert_floating_state(nn::Module& m, DType dtype) {
  ASR_CHECK(is_floating(dtype), "convert_floating_state", "target dtype must be floating, got ",
            dtype_name(dtype));
  autograd::NoGradGuard ng;
  for (auto& [name, t] : m.named_state()) {
    if (!is_floating(t.dtype()) || t.dtype() == dtype) continue;
    nn::repoint(t, t.detach().to(dtype).contiguous());
  }
}

}  // namespace asr::models
