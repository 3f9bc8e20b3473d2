// AdamW and SGD as per-element loops over flat buffers (see asr/train/optimizer.h). Each loop
// body mirrors torch's single-tensor implementation op for op; scalars are cast to the element
// type first, as torch's CPU kernels do, so f32 trajectories round like PyTorch's.
#include "asr/train/optimizer.h"

#include <cmath>

#include "asr/autograd/node.h"

namespace asr::train {

namespace {

bool finite_nonneg(double v) { return std::isfinite(v) && v >= 0; }

void check_param(const char* opt, const Tensor& p, const Tensor& g, size_t index) {
  ASR_CHECK(p.defined(), opt, "parameter ", index, " is undefined");
  ASR_CHECK(g.defined(), opt, "parameter ", index, " (", p.describe(), ") has no gradient");
  ASR_CHECK(p.dtype() == DType::F32 || p.dtype() == DType::F64, opt, "parameter ", index,
            " must be f32 or f64, got ", p.describe());
  ASR_CHECK(p.device() == g.device(), opt, "parameter ", p.describe(), " and gradient ", g.describe(),
            " are on different devices");
  ASR_CHECK(p.is_contiguous() && g.is_contiguous(), opt, "parameter ", p.describe(),
            " and gradient ", g.describe(), " must be contiguous");
  ASR_CHECK(!p.read_only(), opt, "parameter ", index, " (", p.describe(), ") is read-only");
  ASR_CHECK(g.dtype() == p.dtype() && g.numel() == p.numel(), opt, "gradient ", g.describe(),
            " does not match parameter ", p.describe(), " (same dtype and number of elements)");
}

// Calls f(T{}) with T = float or double for the parameter's dtype.
template <typename F>
void dispatch(DType t, F&& f) {
  if (t == DType::F64) {
    f(double{});
  } else {
    f(float{});
  }
}

// Independent elements: a static split is deterministic and safe to parallelise.
constexpr int64_t kParallelMin = 1 << 15;

}  // namespace

// ---- Optimizer ------------------------------------------------------------------------------

void Optimizer::step(const Tensor& param, const Tensor& grad, double lr) {
  run({param}, {grad}, lr);
}

void Optimizer::step(const std::vector<Tensor>& params, double lr) {
  std::vector<Tensor> grads;
  grads.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    ASR_CHECK(params[i].defined(), name(), "parameter ", i, " is undefined");
    grads.push_back(params[i].grad());
  }
  run(params, grads, lr);
}

void Optimizer::run(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                    double lr) {
  ASR_CHECK(!params.empty(), name(), "no parameters to update");
  ASR_CHECK(finite_nonneg(lr), name(), "learning rate must be finite and >= 0, got ", lr);
  for (size_t i = 0; i < params.size(); ++i) check_param(name(), params[i], grads[i], i);
  ensure_state(params);
  const std::vector<std::string> keys = buffer_names();
  const int64_t step = step_ + 1;
  for (size_t i = 0; i < params.size(); ++i) {
    std::vector<Tensor*> bufs;
    for (const std::string& k : keys) bufs.push_back(&buffers_.at(k)[i]);
    if (params[i].device().is_cpu()) {
      update(params[i], grads[i], bufs, lr, step);
      continue;
    }
    // A GPU parameter (the flat adapter buffer): the update runs on the host, where the state
    // lives, with exactly the CPU's arithmetic; one copy down for p and g, one up for p. The
    // buffer is small (adapters are < 1% of the model), so the copies cost far less than a step.
    autograd::NoGradGuard ng;
    Tensor host_p = params[i].to(Device::cpu());  // a fresh host tensor (the source is on a device)
    const Tensor host_g = grads[i].to(Device::cpu());
    update(host_p, host_g, bufs, lr, step);
    Tensor dst = params[i];
    dst.copy_(host_p.to(dst.device()));
  }
  step_ = step;
}

void Optimizer::ensure_state(const std::vector<Tensor>& params) {
  for (const std::string& k : buffer_names()) {
    std::vector<Tensor>& bufs = buffers_[k];
    if (bufs.empty()) {
      for (const Tensor& p : params) bufs.push_back(Tensor::zeros({p.numel()}, p.dtype()));
      continue;
    }
    ASR_CHECK(bufs.size() == params.size(), name(), "state '", k, "' holds ", bufs.size(),
              " tensors but ", params.size(), " parameter tensors were given");
    for (size_t i = 0; i < params.size(); ++i) {
      ASR_CHECK(bufs[i].numel() == params[i].numel() && bufs[i].dtype() == params[i].dtype(),
                name(), "state '", k, "' tensor ", i, " (", bufs[i].describe(),
                ") does not match parameter ", params[i].describe());
    }
  }
}

OptimizerState Optimizer::state() const {
  OptimizerState s;
  s.optimizer = name();
  s.step = step_;
  for (const auto& [k, bufs] : buffers_) {
    std::vector<Tensor>& out = s.buffers[k];
    for (const Tensor& b : bufs) out.push_back(b.clone());
  }
  return s;
}

void Optimizer::load_state(const OptimizerState& s) {
  ASR_CHECK(s.optimizer == name(), name(), "cannot load a state saved by '", s.optimizer, "'");
  ASR_CHECK(s.step >= 0, name(), "state step must be >= 0, got ", s.step);
  const std::vector<std::string> keys = buffer_names();
  std::map<std::string, std::vector<Tensor>> loaded;
  size_t count = 0;
  for (size_t j = 0; j < keys.size(); ++j) {
    auto it = s.buffers.find(keys[j]);
    ASR_CHECK(it != s.buffers.end(), name(), "state lacks buffer '", keys[j], "'");
    ASR_CHECK(j == 0 || it->second.size() == count, name(), "state buffer '", keys[j],
              "' holds ", it->second.size(), " tensors, expected ", count);
    count = it->second.size();
    for (size_t i = 0; i < it->second.size(); ++i) {
      const Tensor& t = it->second[i];
      ASR_CHECK(t.defined() && (t.dtype() == DType::F32 || t.dtype() == DType::F64), name(),
                "state buffer '", keys[j], "' tensor ", i, " must be a defined f32/f64 tensor");
      if (j > 0) {
        const Tensor& first = loaded.at(keys[0])[i];
        ASR_CHECK(t.numel() == first.numel() && t.dtype() == first.dtype(), name(),
                  "state buffer '", keys[j], "' tensor ", i, " (", t.describe(),
                  ") does not match '", keys[0], "' (", first.describe(), ")");
      }
      // A flat CPU copy that the optimizer owns.
      loaded[keys[j]].push_back(t.to(Device::cpu()).contiguous().reshape({t.numel()}).clone());
    }
  }
  for (const auto& [k, bufs] : s.buffers) {
    ASR_CHECK(loaded.count(k) == 1, name(), "state has unknown buffer '", k, "'");
  }
  buffers_ = std::move(loaded);
  step_ = s.step;
}

const std::vector<Tensor>& Optimizer::buffer(const std::string& key) const {
  auto it = buffers_.find(key);
  ASR_CHECK(it != buffers_.end(), name(), "no state buffer '", key,
            "' (state is allocated on the first step)");
  return it->second;
}

// ---- AdamW ----------------------------------------------------------------------------------

AdamW::AdamW(const AdamWConfig& cfg) : cfg_(cfg) {
  ASR_CHECK(finite_nonneg(cfg.lr), "AdamW", "lr must be finite and >= 0, got ", cfg.lr);
  ASR_CHECK(cfg.beta1 >= 0 && cfg.beta1 < 1, "AdamW", "beta1 must be in [0, 1), got ", cfg.beta1);
  ASR_CHECK(cfg.beta2 >= 0 && cfg.beta2 < 1, "AdamW", "beta2 must be in [0, 1), got ", cfg.beta2);
  ASR_CHECK(finite_nonneg(cfg.eps), "AdamW", "eps must be finite and >= 0, got ", cfg.eps);
  ASR_CHECK(finite_nonneg(cfg.weight_decay), "AdamW", "weight_decay must be finite and >= 0, got ",
            cfg.weight_decay);
}

void AdamW::update(const Tensor& param, const Tensor& grad, std::vector<Tensor*>& bufs,
                   double lr, int64_t step) {
  // Scalars computed in double exactly as torch's Python code does.
  const double decay = 1 - lr * cfg_.weight_decay;
  const double w1 = 1 - cfg_.beta1;  // exp_avg.lerp_(grad, 1 - beta1)
  const double w2 = 1 - cfg_.beta2;
  const double bc1 = 1 - std::pow(cfg_.beta1, static_cast<double>(step));
  const double bc2 = 1 - std::pow(cfg_.beta2, static_cast<double>(step));
  const double step_size = lr / bc1;
  const double bc2_sqrt = std::pow(bc2, 0.5);
  const int64_t n = param.numel();
  const bool apply_decay = cfg_.weight_decay != 0;
  dispatch(param.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = bufs[0]->data<T>();
    T* v = bufs[1]->data<T>();
    const T decay_t = static_cast<T>(decay), w1_t = static_cast<T>(w1);
    const T beta2_t = static_cast<T>(cfg_.beta2), w2_t = static_cast<T>(w2);
    const T bc2_sqrt_t = static_cast<T>(bc2_sqrt), eps_t = static_cast<T>(cfg_.eps);
    const T neg_step_t = static_cast<T>(-step_size);
    const bool lerp_low = std::abs(w1) < 0.5;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      T pi = p[i];
      if (apply_decay) pi = pi * decay_t;
      const T gi = g[i];
      // torch's lerp picks the form by |weight| for accuracy.
      const T mi = lerp_low ? m[i] + w1_t * (gi - m[i]) : gi - (gi - m[i]) * (T(1) - w1_t);
      const T vi = v[i] * beta2_t + w2_t * gi * gi;
      const T denom = std::sqrt(vi) / bc2_sqrt_t + eps_t;
      p[i] = pi + neg_step_t * mi / denom;
      m[i] = mi;
      v[i] = vi;
    }
  });
}

// ---- SGD ------------------------------------------------------------------------------------

SGD::SGD(const SGDConfig& cfg) : cfg_(cfg) {
  ASR_CHECK(finite_nonneg(cfg.lr), "SGD", "lr must be finite and >= 0, got ", cfg.lr);
  ASR_CHECK(finite_nonneg(cfg.momentum), "SGD", "momentum must be finite and >= 0, got ",
            cfg.momentum);
  ASR_CHECK(std::isfinite(cfg.dampening), "SGD", "dampening must be finite, got ", cfg.dampening);
  ASR_CHECK(finite_nonneg(cfg.weight_decay), "SGD", "weight_decay must be finite and >= 0, got ",
            cfg.weight_decay);
  ASR_CHECK(!cfg.nesterov || (cfg.momentum > 0 && cfg.dampening == 0), "SGD",
            "nesterov momentum requires momentum > 0 and dampening == 0");
}

std::vector<std::string> SGD::buffer_names() const {
  if (cfg_.momentum == 0) return {};
  return {"momentum_buffer"};
}

void SGD::update(const Tensor& param, const Tensor& grad, std::vector<Tensor*>& bufs, double lr,
                 int64_t step) {
  const int64_t n = param.numel();
  const bool use_momentum = cfg_.momentum != 0;
  const bool first = step == 1;  // torch: the buffer starts as a copy of the gradient
  dispatch(param.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* b = use_momentum ? bufs[0]->data<T>() : nullptr;
    const T wd = static_cast<T>(cfg_.weight_decay), mom = static_cast<T>(cfg_.momentum);
    const T keep = static_cast<T>(1 - cfg_.dampening), neg_lr = static_cast<T>(-lr);
    const bool apply_decay = cfg_.weight_decay != 0, nesterov = cfg_.nesterov;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      T d = g[i];
      if (apply_decay) d = d + wd * p[i];
      if (b) {
        const T bi = first ? d : b[i] * mom + keep * d;
        b[i] = bi;
        d = nesterov ? d + mom * bi : bi;
      }
      p[i] = p[i] + neg_lr * d;
    }
  });
}

}  // namespace asr::train
