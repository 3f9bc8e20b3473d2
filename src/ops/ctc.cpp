// ctc_loss: validates targets and lengths on the host, runs the CTC forward kernel, applies the
// reduction and zero_infinity, and records a backward that folds both into grad_nll.
#include <algorithm>
#include <cmath>
#include <vector>

#include "asr/ops/ops.h"
#include "op_utils.h"

namespace asr::ops {

using autograd::Node;
using autograd::record_fn;
using detail::be;

namespace {

constexpr const char* kOp = "ctc_loss";

// An integer [B] lengths tensor (any device) as a contiguous I64 copy on the CPU.
Tensor host_lengths(const Tensor& t, const char* what, int64_t B) {
  ASR_CHECK(t.dtype() == DType::I64 || t.dtype() == DType::I32, kOp, what,
            " must be i64 (or i32), got ", t.describe());
  ASR_CHECK(t.dim() == 1 && t.shape()[0] == B, kOp, what, " must be [", B, "], got ",
            t.describe());
  return t.to(Device::cpu()).to(DType::I64).contiguous();
}

}  // namespace

Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, int64_t blank, CtcReduction reduction,
                bool zero_infinity) {
  detail::check_float_same_dtype(kOp, {&log_probs});
  ASR_CHECK(log_probs.dim() == 3, kOp, "log_probs must be [B, T, V], got ", log_probs.describe());
  const int64_t B = log_probs.shape()[0], T = log_probs.shape()[1], V = log_probs.shape()[2];
  ASR_CHECK(B > 0 && V > 0, kOp, "log_probs needs a non-empty batch and vocabulary, got ",
            log_probs.describe());
  ASR_CHECK(blank >= 0 && blank < V, kOp, "blank ", blank, " out of range for log_probs ",
            log_probs.describe());
  ASR_CHECK(targets.dtype() == DType::I64 || targets.dtype() == DType::I32, kOp,
            "targets must be i64 (or i32), got ", targets.describe());
  ASR_CHECK(targets.dim() == 2 && targets.shape()[0] == B, kOp, "targets must be [", B,
            ", S] (padded), got ", targets.describe(), " for log_probs ", log_probs.describe());
  const int64_t S = targets.shape()[1];
  Tensor il = host_lengths(input_lengths, "input_lengths", B);
  Tensor tl = host_lengths(target_lengths, "target_lengths", B);
  Tensor tg = targets.to(DType::I64).to(log_probs.device()).contiguous();

  // Per-utterance validation (host copies; small).
  const int64_t* pil = il.data<int64_t>();
  const int64_t* ptl = tl.data<int64_t>();
  const std::vector<double> tv = targets.to_vector();
  int64_t total_target = 0;
  for (int64_t b = 0; b < B; ++b) {
    ASR_CHECK(pil[b] >= 0 && pil[b] <= T, kOp, "input_lengths[", b, "] = ", pil[b],
              " out of range [0, ", T, "] for log_probs ", log_probs.describe());
    ASR_CHECK(ptl[b] >= 0 && ptl[b] <= S, kOp, "target_lengths[", b, "] = ", ptl[b],
              " out of range [0, ", S, "] for targets ", targets.describe());
    for (int64_t s = 0; s < ptl[b]; ++s) {
      const double v = tv[static_cast<size_t>(b * S + s)];
      ASR_CHECK(v >= 0 && v < V && v != blank, kOp, "utterance ", b, ": target[", s, "] = ", v,
                " must be in [0, ", V, ") and differ from blank ", blank, " (log_probs ",
                log_probs.describe(), ")");
    }
    total_target += ptl[b];
  }

  Tensor lp_c = log_probs.detach().contiguous();
  Tensor nll = Tensor::empty({B}, log_probs.dtype(), log_probs.device());
  Tensor log_alpha = Tensor::empty({B, T, 2 * S + 1}, log_probs.dtype(), log_probs.device());
  be(log_probs).ctc_loss(lp_c, tg, il, tl, blank, nll, log_alpha);

  // Reduction on the host: B values. weight[b] is d(reduced loss)/d nll[b] (0 when zeroed).
  const std::vector<double> nv = nll.to_vector();
  double factor = 1.0;
  if (reduction == CtcReduction::MeanBatch) factor = 1.0 / static_cast<double>(B);
  // NeMo's mean_volume divides by the total target length; clamped so empty targets give 0.
  if (reduction == CtcReduction::MeanVolume)
    factor = 1.0 / static_cast<double>(std::max<int64_t>(total_target, 1));
  std::vector<double> weight(static_cast<size_t>(B), factor), loss(nv);
  double total = 0;
  for (size_t b = 0; b < loss.size(); ++b) {
    if (zero_infinity && std::isinf(loss[b])) {
      loss[b] = 0;
      weight[b] = 0;
    }
    total += loss[b];
  }
  Tensor out = reduction == CtcReduction::None
                   ? Tensor::from_vector(loss, {B}, log_probs.dtype())
                   : Tensor::from_vector({total * factor}, {}, log_probs.dtype());
  if (!log_probs.device().is_cpu()) out = out.to(log_probs.device());
  if (!autograd::any_requires_grad({&log_probs})) return out;

  const bool per_utt = reduction == CtcReduction::None;
  return record_fn(out, kOp, {&log_probs},
                   [lp_c, tg, il, tl, blank, nll, log_alpha, weight, per_utt](const Tensor& g,
                                                                           const Node&) {
                     const std::vector<double> gv = g.to_vector();
                     std::vector<double> gn(weight.size());
                     for (size_t b = 0; b < gn.size(); ++b)
                       gn[b] = weight[b] == 0 ? 0.0 : weight[b] * gv[per_utt ? b : 0];
                     Tensor grad_nll = Tensor::from_vector(gn, {static_cast<int64_t>(gn.size())},
                                                           lp_c.dtype());
                     if (!lp_c.device().is_cpu()) grad_nll = grad_nll.to(lp_c.device());
                     Tensor glp = detail::empty_like(lp_c);
                     be(lp_c).ctc_loss_backward(grad_nll, lp_c, tg, il, tl, blank, nll, log_alpha,
                                                glp);
                     return std::vector<Tensor>{glp};
                   });
}

}  // namespace asr::ops
