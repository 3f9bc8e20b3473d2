// TEMPORARY STUB: replaced by the real op.
#include "asr/ops/ops.h"

namespace asr::ops {

Tensor matmul(const Tensor& a, const Tensor& b) {
  throw Error("matmul: not implemented yet");
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  throw Error("linear: not implemented yet");
}

}  // namespace asr::ops
