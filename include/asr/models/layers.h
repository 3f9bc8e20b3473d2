#pragma once
// Small PyTorch-equivalent layers the Conformer is built from (Conv1d/Conv2d, LayerNorm,
// BatchNorm1d, a named container, Dropout's generator handle), with PyTorch's parameter and
// buffer names and default initialisation.
#include <memory>
#include <string>
#include <utility>

#include "asr/core/generator.h"
#include "asr/nn/module.h"

namespace asr::models {

// The dropout generator is owned by the model and shared by every submodule that drops.
using GeneratorPtr = std::shared_ptr<Generator>;

// A container whose children are named by the caller ("0", "2", ... as nn.Sequential/ModuleList).
class ModuleList : public nn::Module {
 public:
  template <typename M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> m) {
    return register_module(name, std::move(m));
  }
};

// torch.nn.Conv1d: weight [out, in/groups, k] (+ bias [out]), uniform +-1/sqrt(fan_in) init.
class Conv1d : public nn::Module {
 public:
  Conv1d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, int64_t groups,
         bool bias, Generator& gen);
  Tensor forward(const Tensor& x) const;  // [B, in, L] -> [B, out, L']
  // A 1x1 convolution as a Linear over the last dim of [.., in] (weight viewed as [out, in]).
  Tensor forward_pointwise_last(const Tensor& x) const;
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  // The convolution followed by the per-channel affine map y * scale + shift ([out] each),
  // computed as one convolution with the map folded into its weight and bias.
  Tensor forward_then_affine(const Tensor& x, const Tensor& scale, const Tensor& shift) const;
  // kernel 1, stride 1, no padding, one group: the weight is a [out, in] matrix.
  bool is_pointwise() const { return weight_.size(2) == 1 && groups_ == 1 && stride_ == 1 && padding_ == 0; }

 private:
  Tensor weight_, bias_;
  int64_t stride_, padding_, groups_;
};

// torch.nn.Conv2d with square kernel/stride/padding.
class Conv2d : public nn::Module {
 public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, int64_t groups,
         bool bias, Generator& gen);
  Tensor forward(const Tensor& x) const;  // [B, in, H, W]
  int64_t kernel() const { return kernel_; }
  int64_t stride() const { return stride_; }
  int64_t padding() const { return padding_; }

 private:
  Tensor weight_, bias_;
  int64_t kernel_, stride_, padding_, groups_;
};

// torch.nn.LayerNorm(d) over the last dim, eps 1e-5.
class LayerNorm : public nn::Module {
 public:
  explicit LayerNorm(int64_t d, double eps = 1e-5);
  Tensor forward(const Tensor& x) const;

 private:
  Tensor weight_, bias_;
  double eps_;
};

// torch.nn.BatchNorm1d(d) on [B, C, L]: running stats in eval, batch stats (and running-stat
// updates, num_batches_tracked += 1) in training.
class BatchNorm1d : public nn::Module {
 public:
  explicit BatchNorm1d(int64_t d, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& x) const;
  // In eval mode BatchNorm is y = x * scale + shift per channel, scale = weight / sqrt(running_var
  // + eps), shift = bias - running_mean * scale; returns {scale, shift} (differentiable).
  std::pair<Tensor, Tensor> eval_affine() const;

 private:
  Tensor weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
  double eps_, momentum_;
};

// Converts every floating parameter and buffer of `m` to `dtype` in place (same names, same
// Tensor handles), e.g. F64 for gradient checks. Integer buffers are left alone.
void convert_floating_state(nn::Module& m, DType dtype);

}  // namespace asr::models
