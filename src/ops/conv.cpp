// TEMPORARY STUB: replaced by the real op.
#include "asr/ops/ops.h"

namespace asr::ops {

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding, int64_t groups) {
  throw Error("conv1d: not implemented yet");
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding, int64_t groups) {
  throw Error("conv2d: not implemented yet");
}

}  // namespace asr::ops
