#pragma once
// One adapter-training forward + backward of a Conformer-CTC model on a batch (CTC, mean over the
// batch, zero_infinity): what the placement, precision and GPU-parity tests compare.
#include "asr/models/conformer_ctc.h"
#include "asr/ops/ops.h"

namespace asr::test {

// Zeroes the gradients, runs forward, CTC loss and backward; returns the loss.
inline double ctc_loss_and_backward(models::ConformerCtcModel& m, const Tensor& features, const Tensor& lengths,
                                    const Tensor& targets, const Tensor& target_lengths) {
  m.zero_grad();
  const models::CtcOutput out = m.forward(features, lengths);
  Tensor loss = ops::ctc_loss(out.log_probs, targets, out.lengths, target_lengths, m.blank(),
                              ops::CtcReduction::MeanBatch, true);
  const double v = loss.item();
  loss.backward();
  return v;
}

}  // namespace asr::test
