// Mixed precision in linear: a frozen bf16 weight with f32 activations (trainer.precision: bf16).
// The GEMMs take bf16 operands and accumulate in f32, so on the CPU reference the result must be
// exactly the f32 linear of the bf16-rounded input and weight; dx likewise with the rounded
// output gradient.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "asr/autograd/node.h"
#include "asr/ops/ops.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;

namespace {

Tensor rounded_to_bf16(const Tensor& t) { return t.to(DType::BF16).to(DType::F32); }

}  // namespace

TEST(LinearBf16, ForwardIsTheF32LinearOfTheRoundedOperands) {
  Generator g(3);
  const Tensor x = Tensor::randn({2, 5, 24}, g);
  const Tensor w32 = Tensor::randn({7, 24}, g, 0.2);
  const Tensor b = Tensor::randn({7}, g);
  const Tensor w16 = w32.to(DType::BF16);
  const Tensor y = ops::linear(x, w16, b);
  EXPECT_EQ(y.dtype(), DType::F32);
  EXPECT_EQ(y.shape(), (Shape{2, 5, 7}));
  EXPECT_TRUE(test::bitwise_equal(y, ops::linear(rounded_to_bf16(x), rounded_to_bf16(w32), b)));
  // ... and differs from the plain f32 linear by bf16 rounding only (8 significant bits).
  const std::vector<double> exact = ops::linear(x, w32, b).to_vector(), mixed = y.to_vector();
  double worst = 0;
  for (size_t i = 0; i < exact.size(); ++i) worst = std::max(worst, std::fabs(exact[i] - mixed[i]));
  EXPECT_GT(worst, 0.0);
  EXPECT_LT(worst, 0.1);
}

TEST(LinearBf16, InputGradientIsTheF32ProductOfTheRoundedGradientAndWeight) {
  Generator g(4);
  Tensor x = Tensor::randn({6, 16}, g).set_requires_grad(true);
  const Tensor w32 = Tensor::randn({9, 16}, g, 0.3);
  const Tensor gy = Tensor::randn({6, 9}, g);
  ops::linear(x, w32.to(DType::BF16), Tensor()).backward(gy);
  const Tensor want = ops::matmul(rounded_to_bf16(gy), rounded_to_bf16(w32));
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().dtype(), DType::F32);
  EXPECT_TRUE(test::bitwise_equal(x.grad(), want));
}

TEST(LinearBf16, ATrainableBf16WeightIsRefused) {
  Generator g(5);
  const Tensor x = Tensor::randn({2, 4}, g);
  Tensor w = Tensor::randn({3, 4}, g).to(DType::BF16).set_requires_grad(true);
  EXPECT_ASR_ERROR(ops::linear(x, w, Tensor()), "must be frozen");
  EXPECT_ASR_ERROR(ops::linear(x.to(DType::F64), Tensor::randn({3, 4}, g).to(DType::BF16), Tensor()),
                   "needs f32 input");
}
