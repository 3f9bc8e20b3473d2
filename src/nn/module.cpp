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

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight_ = register_parameter("weight", Tensor::rand({out_features, in_features}, gen, -bound, bound));
  if (bias) bias_ = register_parameter("bias", Tensor::rand({out_features}, gen, -bound, bound));
}

Tensor Linear::forward(const Tensor& x) const { return ops::linear(x, weight_, bias_); }

}  // namespace asr::nn
