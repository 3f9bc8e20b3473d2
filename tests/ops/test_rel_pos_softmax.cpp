// The fused relative-position attention weights against the unfused composition they replace
// (add of the rel_shift view -> scale -> masked_fill -> softmax -> masked_fill): same values, and
// finite-difference gradients in ac and bd, with a padding mask that leaves some rows fully masked.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "asr/models/rel_pos_attention.h"
#include "asr/ops/ops.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;

namespace {

// [B, T, T] padding mask of lengths: key j or query i at/after the length is masked.
Tensor padding_mask(const std::vector<int64_t>& lengths, int64_t t) {
  const int64_t b = static_cast<int64_t>(lengths.size());
  std::vector<uint8_t> m(static_cast<size_t>(b * t * t));
  for (int64_t z = 0; z < b; ++z)
    for (int64_t i = 0; i < t; ++i)
      for (int64_t j = 0; j < t; ++j) m[static_cast<size_t>((z * t + i) * t + j)] = i >= lengths[z] || j >= lengths[z];
  Tensor out = Tensor::empty({b, t, t}, DType::Bool);
  std::memcpy(out.raw_data(), m.data(), m.size());
  return out;
}

Tensor unfused(const Tensor& ac, const Tensor& bd, const Tensor& mask, double scale) {
  Tensor s = ops::scale(ops::add(ac, models::rel_shift(bd)), scale);
  if (!mask.defined()) return ops::softmax(s, -1);
  const Tensor m = mask.unsqueeze(1);
  return ops::masked_fill(ops::softmax(ops::masked_fill(s, m, -10000.0), -1), m, 0.0);
}

}  // namespace

TEST(RelPosSoftmax, EqualsTheUnfusedPathWithAndWithoutMask) {
  Generator g(8);
  const int64_t B = 2, H = 3, T = 7;
  for (DType dt : {DType::F32, DType::F64}) {
    const Tensor ac = Tensor::randn({B, H, T, T}, g, 2.0, dt), bd = Tensor::randn({B, H, T, 2 * T - 1}, g, 2.0, dt);
    const Tensor mask = padding_mask({7, 4}, T);
    for (const Tensor& m : {Tensor(), mask}) {
      const Tensor fused = ops::rel_pos_softmax(ac, bd, m, 0.35), ref = unfused(ac, bd, m, 0.35);
      EXPECT_LT(test::max_abs_diff(fused, ref), dt == DType::F32 ? 1e-6 : 1e-14) << dtype_name(dt) << " mask " << m.defined();
    }
  }
  // A fully masked row (query past the length) is all zeros, as NeMo's masked_fill leaves it.
  const Tensor y = ops::rel_pos_softmax(Tensor::randn({2, 1, 7, 7}, g), Tensor::randn({2, 1, 7, 13}, g),
                                        padding_mask({7, 4}, 7), 1.0);
  for (double v : y.select(0, 1).select(0, 0).select(0, 5).to_vector()) EXPECT_EQ(v, 0.0);
}

TEST(RelPosSoftmax, GradcheckInAcAndBd) {
  Generator g(9);
  const int64_t B = 2, H = 2, T = 5;
  Tensor ac = Tensor::randn({B, H, T, T}, g, 1.0, DType::F64).set_requires_grad(true);
  Tensor bd = Tensor::randn({B, H, T, 2 * T - 1}, g, 1.0, DType::F64).set_requires_grad(true);
  const Tensor mask = padding_mask({5, 3}, T);
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return ops::rel_pos_softmax(in[0], in[1], mask, 0.7); },
                   (std::vector<Tensor>{ac, bd}));
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return ops::rel_pos_softmax(in[0], in[1], Tensor(), 0.7); },
                   (std::vector<Tensor>{ac, bd}));
}

TEST(RelPosSoftmax, BadShapesAreErrors) {
  Generator g(1);
  const Tensor ac = Tensor::randn({1, 2, 4, 4}, g);
  EXPECT_ASR_ERROR(ops::rel_pos_softmax(ac, Tensor::randn({1, 2, 4, 8}, g), Tensor(), 1.0), "bd must be [1, 2, 4, 7]");
  EXPECT_ASR_ERROR(ops::rel_pos_softmax(ac, Tensor::randn({1, 2, 4, 7}, g), Tensor::zeros({1, 4, 4}), 1.0),
                   "att_mask must be bool");
}
