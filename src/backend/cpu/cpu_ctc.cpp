// TEMPORARY STUB: replaced by the real kernels.
#include "cpu_backend.h"

namespace asr::cpu {

void CpuBackend::ctc_loss(const Tensor& log_probs_c, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, int64_t blank, Tensor& nll,
                Tensor& log_alpha) {
  throw Error("ctc_loss: cpu kernel not implemented yet");
}

void CpuBackend::ctc_loss_backward(const Tensor& grad_nll, const Tensor& log_probs_c, const Tensor& targets,
                         const Tensor& input_lengths, const Tensor& target_lengths, int64_t blank,
                         const Tensor& nll, const Tensor& log_alpha,
                         Tensor& grad_log_probs) {
  throw Error("ctc_loss_backward: cpu kernel not implemented yet");
}

}  // namespace asr::cpu
