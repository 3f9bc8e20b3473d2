#pragma once
// Global-norm gradient clipping as torch.nn.utils.clip_grad_norm_ (L2 norm, eps 1e-6).
#include <vector>

#include "asr/core/tensor.h"

namespace asr::train {

struct ClipResult {
  double total_norm = 0;  // L2 norm of all gradients before clipping (accumulated in double)
  bool finite = true;     // false: NaN/Inf norm; the gradients were left untouched
  bool clipped = false;   // true when the gradients were scaled
  double scale = 1.0;     // factor applied: min(1, max_norm / (total_norm + 1e-6))
};

// Total L2 norm of a flat gradient (f32/f64, contiguous CPU), or of every parameter's .grad().
double grad_norm(const Tensor& flat_grad);
double grad_norm(const std::vector<Tensor>& params);

// Scales the gradients in place by min(1, max_norm / (norm + 1e-6)) like torch. A non-finite
// norm is reported (finite = false) instead of poisoning the gradients, so the caller can skip
// the step. max_norm must be > 0.
ClipResult clip_grad_norm(const Tensor& flat_grad, double max_norm);
ClipResult clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace asr::train
