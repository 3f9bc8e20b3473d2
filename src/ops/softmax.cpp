// TEMPORARY STUB: replaced by the real op.
#include "asr/ops/ops.h"

namespace asr::ops {

Tensor softmax(const Tensor& x, int64_t dim) {
  throw Error("softmax: not implemented yet");
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  throw Error("log_softmax: not implemented yet");
}

}  // namespace asr::ops
