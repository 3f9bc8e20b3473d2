// Inverted dropout with a reproducible mask (seed and counter from the Generator).
#include "asr/ops/ops.h"
#include "op_utils.h"

namespace asr::ops {

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  ASR_CHECK(p >= 0.0 && p < 1.0, "dropout", "probability must be in [0, 1), got ", p);
  if (!training || p == 0.0) return x;
  detail::check_float_same_dtype("dropout", {&x});
  Tensor mask = detail::empty_like(x);
  uint64_t counter = gen.reserve(static_cast<uint64_t>(x.numel()));
  detail::be(x).dropout_mask(p, gen.seed(), counter, mask);
  return mul(x, mask);  // mul's backward saves the mask, which is all dropout needs
}

}  // namespace asr::ops
