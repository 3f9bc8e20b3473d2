#include <gtest/gtest.h>

#include <cmath>

#include "asr/ops/ops.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;

TEST(Dropout, SeededMaskIsReproducibleAndScaled) {
  Tensor x = Tensor::ones({10000});
  Generator g1(9), g2(9);
  Tensor a = ops::dropout(x, 0.25, true, g1), b = ops::dropout(x, 0.25, true, g2);
  EXPECT_TRUE(test::bitwise_equal(a, b));
  std::vector<double> v = a.to_vector();
  int zeros = 0;
  for (double e : v) {
    ASSERT_TRUE(e == 0.0 || std::fabs(e - 1.0 / 0.75) < 1e-6);
    zeros += e == 0.0;
  }
  EXPECT_NEAR(zeros / 10000.0, 0.25, 0.02);
  // The generator advanced: the next draw differs.
  Tensor c = ops::dropout(x, 0.25, true, g1);
  EXPECT_FALSE(test::bitwise_equal(a, c));
  // Inference: identity.
  EXPECT_TRUE(test::bitwise_equal(ops::dropout(x, 0.5, false, g1), x));
}

TEST(Dropout, Gradcheck) {
  Generator gen(3);
  for (bool strided : {false, true}) {
    Tensor x = test::random_leaf({4, 5}, gen, strided);
    // Re-seed inside so every evaluation uses the same mask.
    EXPECT_GRADCHECK([](auto& in) { Generator g(77); return ops::dropout(in[0], 0.3, true, g); },
                     std::vector<Tensor>{x});
  }
}

TEST(Dropout, BadInputs) {
  Generator g(1);
  EXPECT_ASR_ERROR(ops::dropout(Tensor::ones({2}), 1.0, true, g), "dropout: probability");
  EXPECT_ASR_ERROR(ops::dropout(Tensor::ones({2}), -0.1, true, g), "dropout");
}
