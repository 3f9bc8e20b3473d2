// Global L2-norm clipping (torch.nn.utils.clip_grad_norm_ semantics). The norm is summed
// serially in double: deterministic and accurate; gradient buffers are small (adapters).
#include "asr/train/grad_clip.h"

#include <algorithm>
#include <cmath>

namespace asr::train {

namespace {

void check_grad(const Tensor& g, size_t index) {
  ASR_CHECK(g.defined(), "clip_grad_norm", "gradient ", index, " is undefined");
  ASR_CHECK(g.dtype() == DType::F32 || g.dtype() == DType::F64, "clip_grad_norm", "gradient ",
            index, " must be f32 or f64, got ", g.describe());
  ASR_CHECK(g.is_contiguous(), "clip_grad_norm", "gradient ", index, " must be contiguous, got ",
            g.describe());
}

// GPU gradients are summed and scaled in a host copy: the same serial double sum as on the CPU
// (deterministic), for a buffer that is small (adapters).
double sum_squares(const Tensor& g_any) {
  const Tensor g = g_any.to(Device::cpu());
  const int64_t n = g.numel();
  double s = 0;
  if (g.dtype() == DType::F64) {
    const double* p = g.data<double>();
    for (int64_t i = 0; i < n; ++i) s += p[i] * p[i];
  } else {
    const float* p = g.data<float>();
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(p[i]) * p[i];
  }
  return s;
}

void scale(const Tensor& g, double c) {
  ASR_CHECK(!g.read_only(), "clip_grad_norm", "gradient ", g.describe(), " is read-only");
  if (!g.device().is_cpu()) {
    const Tensor host = g.to(Device::cpu());
    scale(host, c);
    Tensor dst = g;
    dst.copy_(host.to(g.device()));
    return;
  }
  const int64_t n = g.numel();
  if (g.dtype() == DType::F64) {
    double* p = g.data<double>();
    for (int64_t i = 0; i < n; ++i) p[i] *= c;
  } else {
    float* p = g.data<float>();
    const float cf = static_cast<float>(c);
    for (int64_t i = 0; i < n; ++i) p[i] *= cf;
  }
}

std::vector<Tensor> grads_of(const std::vector<Tensor>& params) {
  std::vector<Tensor> grads;
  for (size_t i = 0; i < params.size(); ++i) {
    ASR_CHECK(params[i].defined(), "clip_grad_norm", "parameter ", i, " is undefined");
    Tensor g = params[i].grad();
    ASR_CHECK(g.defined(), "clip_grad_norm", "parameter ", i, " (", params[i].describe(),
              ") has no gradient");
    grads.push_back(g);
  }
  return grads;
}

double norm_of(const std::vector<Tensor>& grads) {
  double s = 0;
  for (size_t i = 0; i < grads.size(); ++i) {
    check_grad(grads[i], i);
    s += sum_squares(grads[i]);
  }
  return std::sqrt(s);
}

ClipResult clip(const std::vector<Tensor>& grads, double max_norm) {
  ASR_CHECK(std::isfinite(max_norm) && max_norm > 0, "clip_grad_norm",
            "max_norm must be finite and > 0, got ", max_norm);
  ClipResult r;
  r.total_norm = norm_of(grads);
  r.finite = std::isfinite(r.total_norm);
  if (!r.finite) return r;
  // torch: clip_coef = max_norm / (norm + 1e-6), clamped to 1.
  r.scale = std::min(1.0, max_norm / (r.total_norm + 1e-6));
  r.clipped = r.scale < 1.0;
  if (r.clipped) {
    for (const Tensor& g : grads) scale(g, r.scale);
  }
  return r;
}

}  // namespace

double grad_norm(const Tensor& flat_grad) { return norm_of({flat_grad}); }
double grad_norm(const std::vector<Tensor>& params) { return norm_of(grads_of(params)); }

ClipResult clip_grad_norm(const Tensor& flat_grad, double max_norm) {
  return clip({flat_grad}, max_norm);
}
ClipResult clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  return clip(grads_of(params), max_norm);
}

}  // namespace asr::train
