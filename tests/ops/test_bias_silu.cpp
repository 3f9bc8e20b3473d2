// silu(x + bias) in one pass against the composed ops (add with a broadcast bias, then silu), and
// finite-difference gradients in x and bias.
#include <gtest/gtest.h>

#include "asr/ops/ops.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;

TEST(BiasSilu, EqualsAddThenSilu) {
  Generator g(6);
  for (DType dt : {DType::F32, DType::F64}) {
    const Tensor x = Tensor::randn({3, 4, 11}, g, 3.0, dt), b = Tensor::randn({11}, g, 1.0, dt);  // 11: lanes + tail
    EXPECT_LT(test::max_abs_diff(ops::bias_silu(x, b), ops::silu(ops::add(x, b))), dt == DType::F32 ? 2e-6 : 1e-14)
        << dtype_name(dt);
  }
}

TEST(BiasSilu, GradcheckInInputAndBias) {
  Generator g(7);
  const Tensor x = test::random_leaf({2, 3, 5}, g, false, -3.0, 3.0), b = test::random_leaf({5}, g);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return ops::bias_silu(in[0], in[1]); },
                   (std::vector<Tensor>{x, b}));
}

TEST(BiasSilu, ABiasOfTheWrongSizeIsAnError) {
  Generator g(8);
  EXPECT_ASR_ERROR(ops::bias_silu(Tensor::randn({2, 4}, g), Tensor::randn({3}, g)), "does not match the last dim");
}
