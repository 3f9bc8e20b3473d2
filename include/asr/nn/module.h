#pragma once
// nn modules: named parameters in a tree, as PyTorch's nn.Module, so state-dict names can mirror
// NeMo's keys. Freezing a module clears requires_grad on its parameters: frozen parameters never
// get gradient buffers (see autograd/node.h).
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "asr/core/generator.h"
#include "asr/core/tensor.h"

namespace asr::nn {

class Module {
 public:
  virtual ~Module() = default;
  // Every parameter below this module, with dotted names ("encoder.layers.0.weight").
  std::vector<std::pair<std::string, Tensor>> named_parameters(const std::string& prefix = "") const;
  // Non-trainable state (BatchNorm running statistics, ...).
  std::vector<std::pair<std::string, Tensor>> named_buffers(const std::string& prefix = "") const;
  // Parameters and buffers: the state dict, with PyTorch-style dotted names.
  std::vector<std::pair<std::string, Tensor>> named_state(const std::string& prefix = "") const;
  // Points every state tensor at the tensor of the same name in `state` (no copy when the dtype
  // matches; so mmap'ed read-only weights stay shared). strict: missing keys, unexpected keys
  // (under `prefix`) and shape mismatches are errors that name the keys.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true,
                       const std::string& prefix = "");
  // Moves every parameter and buffer to `device`. Tensor handles keep their identity (the
  // modules' members see the moved data); gradients are dropped, so call it before making flat
  // gradient buffers.
  void to_device(Device device);
  // The device of the first parameter (depth first; CPU for a module without any). Cheap: no
  // names are built, so forward passes may ask.
  Device device() const;
  // fn on this module, then on every module below it (depth first, registration order).
  void visit(const std::function<void(Module&)>& fn);
  std::vector<Tensor> parameters() const;
  std::vector<Tensor> trainable_parameters() const;
  int64_t num_parameters() const;
  void set_requires_grad(bool trainable);  // freeze() == set_requires_grad(false)
  void zero_grad();
  void train(bool on = true);
  bool is_training() const { return training_; }

 protected:
  Tensor& register_parameter(const std::string& name, Tensor t, bool trainable = true);
  Tensor& register_buffer(const std::string& name, Tensor t);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  const Tensor* first_parameter() const;  // depth first; nullptr when there is none

  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Points `dst` (its handle and every copy of it) at `src`'s data, dtype and layout; same shape.
// How loading, device moves and dtype conversions reach the tensors modules hold.
void repoint(const Tensor& dst, const Tensor& src);

// y = x W^T + b, weights initialised as torch.nn.Linear (uniform +-1/sqrt(in)).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias, Generator& gen);
  Tensor forward(const Tensor& x) const;
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 private:
  Tensor weight_, bias_;
};

}  // namespace asr::nn
