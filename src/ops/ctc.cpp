// TEMPORARY STUB: replaced by the real op.
#include "asr/ops/ops.h"

namespace asr::ops {

Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths, const Tensor& target_lengths, int64_t blank, CtcReduction reduction, bool zero_infinity) {
  throw Error("ctc_loss: not implemented yet");
}

}  // namespace asr::ops
