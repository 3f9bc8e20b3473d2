#pragma once
// Optimizers in the llm.c style: one flat parameter tensor, one flat gradient tensor, and flat
// state tensors of the same size (AdamW m and v, SGD momentum buffer). The math is a per-element
// loop (src/train/optimizer.cpp) that a CUDA kernel can mirror one to one. A list of parameter
// tensors (each with .grad()) is also accepted; it keeps one state tensor per parameter.
//
// The update rules match torch.optim.AdamW / torch.optim.SGD (single-tensor path, amsgrad and
// maximize off) operation for operation, so trajectories agree to rounding.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "asr/core/tensor.h"

namespace asr::train {

// What a checkpoint needs to resume an optimizer: the number of steps taken and its state
// tensors by name ("exp_avg", "exp_avg_sq", "momentum_buffer"), one tensor per parameter tensor
// (a single tensor on the flat path). Tensors are copies: the optimizer never aliases them.
struct OptimizerState {
  std::string optimizer;  // "AdamW" or "SGD"; load_state refuses a mismatch
  int64_t step = 0;
  std::map<std::string, std::vector<Tensor>> buffers;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual const char* name() const = 0;

  // One update of `param` (f32 or f64, contiguous CPU, writable) from `grad` (same numel and
  // dtype) with learning rate `lr` (from a scheduler). State is allocated on the first step.
  void step(const Tensor& param, const Tensor& grad, double lr);
  void step(const Tensor& param, const Tensor& grad) { step(param, grad, base_lr()); }
  // The non-flat case: every tensor must have a gradient (.grad()); the parameter list must be
  // the same (count, sizes, dtypes) on every call.
  void step(const std::vector<Tensor>& params, double lr);
  void step(const std::vector<Tensor>& params) { step(params, base_lr()); }

  int64_t step_count() const { return step_; }
  virtual double base_lr() const = 0;

  OptimizerState state() const;            // deep copy
  void load_state(const OptimizerState& s);  // validated against this optimizer; deep copy
  // Live state tensors (index = parameter tensor; 0 on the flat path), e.g. for a device copy.
  const std::vector<Tensor>& buffer(const std::string& key) const;

 protected:
  virtual std::vector<std::string> buffer_names() const = 0;
  // Updates one parameter tensor; bufs[k] is the state tensor named buffer_names()[k].
  // `step` is the 1-based step number of this update.
  virtual void update(const Tensor& param, const Tensor& grad, std::vector<Tensor*>& bufs,
                      double lr, int64_t step) = 0;

 private:
  void run(const std::vector<Tensor>& params, const std::vector<Tensor>& grads, double lr);
  void ensure_state(const std::vector<Tensor>& params);

  int64_t step_ = 0;
  std::map<std::string, std::vector<Tensor>> buffers_;
};

struct AdamWConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;  // decoupled: p -= lr * wd * p before the Adam update
};

class AdamW final : public Optimizer {
 public:
  explicit AdamW(const AdamWConfig& cfg = {});  // throws asr::Error("AdamW: ...") on bad values
  const char* name() const override { return "AdamW"; }
  double base_lr() const override { return cfg_.lr; }
  const AdamWConfig& config() const { return cfg_; }

 protected:
  std::vector<std::string> buffer_names() const override { return {"exp_avg", "exp_avg_sq"}; }
  void update(const Tensor& param, const Tensor& grad, std::vector<Tensor*>& bufs, double lr,
              int64_t step) override;

 private:
  AdamWConfig cfg_;
};

struct SGDConfig {
  double lr = 1e-2;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;  // L2: added to the gradient (grad += wd * p)
  bool nesterov = false;      // needs momentum > 0 and dampening == 0 (as torch)
};

class SGD final : public Optimizer {
 public:
  explicit SGD(const SGDConfig& cfg = {});  // throws asr::Error("SGD: ...") on bad values
  const char* name() const override { return "SGD"; }
  double base_lr() const override { return cfg_.lr; }
  const SGDConfig& config() const { return cfg_; }

 protected:
  // Plain SGD (momentum 0) keeps no state.
  std::vector<std::string> buffer_names() const override;
  void update(const Tensor& param, const Tensor& grad, std::vector<Tensor*>& bufs, double lr,
              int64_t step) override;

 private:
  SGDConfig cfg_;
};

}  // namespace asr::train
