// TEMPORARY STUB: replaced by the real op.
#include "asr/ops/ops.h"

namespace asr::ops {

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  throw Error("dropout: not implemented yet");
}

}  // namespace asr::ops
