// TEMPORARY STUB: replaced by the real op.
#include "asr/ops/ops.h"

namespace asr::ops {

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  throw Error("index_select: not implemented yet");
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  throw Error("gather: not implemented yet");
}

}  // namespace asr::ops
