#include "asr/nn/module.h"

#include <cmath>

#include "asr/ops/ops.h"

namespace asr::nn {

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(const std::string& prefix) const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, t] : params_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) {
    auto sub = child->named_parameters(prefix + name + ".");
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(const std::string& prefix) const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, t] : buffers_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) {
    auto sub = child->named_buffers(prefix + name + ".");
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_state(const std::string& prefix) const {
  auto out = named_parameters(prefix);
  auto bufs = named_buffers(prefix);
  out.insert(out.end(), bufs.begin(), bufs.end());
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict,
                             const std::string& prefix) {
  std::vector<std::string> missing, mismatched;
  std::map<std::string, bool> used;
  for (auto& [name, dst] : named_state(prefix)) {
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
      continue;
    }
    used[name] = true;
    const Tensor& src = it->second;
    if (src.shape() != dst.shape()) {
      mismatched.push_back(name + " (checkpoint " + shape_str(src.shape()) + ", model " +
                           shape_str(dst.shape()) + ")");
      continue;
    }
    // Re-point dst at src's memory (converted to dst's dtype only if they differ).
    Tensor s = src.detach();
    if (s.dtype() != dst.dtype() || s.device() != dst.device()) s = s.to(dst.dtype()).to(dst.device());
    if (!s.is_contiguous()) s = s.contiguous();
    repoint(dst, s);
  }
  std::vector<std::string> unexpected;
  if (strict) {
    for (auto& [name, t] : state)
      if (name.compare(0, prefix.size(), prefix) == 0 && !used.count(name)) unexpected.push_back(name);
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (size_t i = 0; i < v.size() && i < 8; ++i) out += (i ? ", " : "") + v[i];
    if (v.size() > 8) out += str_cat(" (and ", v.size() - 8, " more)");
    return out;
  };
  if (!mismatched.empty()) throw Error("load_state_dict: shape mismatch for " + join(mismatched));
  if (strict && !missing.empty()) throw Error("load_state_dict: missing keys " + join(missing));
  if (strict && !unexpected.empty()) throw Error("load_state_dict: unexpected keys " + join(unexpected));
}

void repoint(const Tensor& dst, const Tensor& src) {
  ASR_CHECK(dst.shape() == src.shape(), "repoint", "shape mismatch: ", dst.describe(), " <- ", src.describe());
  auto& impl = *dst.impl();
  impl.storage = src.impl()->storage;
  impl.strides = src.strides();
  impl.offset = src.offset();
  impl.dtype = src.dtype();
  impl.grad.reset();
  impl.grad_in_place = false;
}

void Module::to_device(Device device) {
  for (auto& [name, t] : named_state())
    if (t.device() != device) repoint(t, t.detach().to(device));
}

const Tensor* Module::first_parameter() const {
  if (!params_.empty()) return &params_.front().second;
  for (const auto& [n, c] : children_)
    if (const Tensor* p = c->first_parameter()) return p;
  return nullptr;
}

Device Module::device() const {
  const Tensor* p = first_parameter();
  return p ? p->device() : Device::cpu();
}

void Module::visit(const std::function<void(Module&)>& fn) {
  fn(*this);
  for (auto& [n, c] : children_) c->visit(fn);
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

std::vector<Tensor> Module::trainable_parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters())
    if (t.requires_grad()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::set_requires_grad(bool trainable) {
  for (auto& [n, t] : params_) t.set_requires_grad(trainable);
  for (auto& [n, c] : children_) c->set_requires_grad(trainable);
}

void Module::zero_grad() {
  for (auto& [n, t] : params_) t.zero_grad();
  for (auto& [n, c] : children_) c->zero_grad();
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

Tensor& Module::register_parameter(const std::string& name, Tensor t, bool trainable) {
  t.set_name(name);
  t.set_requires_grad(trainable);
  params_.emplace_back(name, t);
  return params_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor t) {
  t.set_name(name);
  buffers_.emplace_back(name, t);
  return buffers_.back().second;
}

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight_ = register_parameter("weight", Tensor::rand({out_features, in_features}, gen, -bound, bound));
  if (bias) bias_ = register_parameter("bias", Tensor::rand({out_features}, gen, -bound, bound));
}

Tensor Linear::forward(const Tensor& x) const { return ops::linear(x, weight_, bias_); }

}  // namespace asr::nn
