#include <gtest/gtest.h>

#include <cmath>

#include "asr/ops/ops.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;

TEST(Softmax, MatchesDefinitionAndIsStableForLargeInputs) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 1000, 1001, 1002}, {2, 3}, DType::F64);
  std::vector<double> y = ops::softmax(x, 1).to_vector();
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(y[i], std::exp(1.0 + i) / z, 1e-15);
    EXPECT_NEAR(y[3 + i], std::exp(1.0 + i) / z, 1e-15);  // shift invariant, no overflow
  }
  std::vector<double> ly = ops::log_softmax(x, -1).to_vector();
  EXPECT_NEAR(ly[5], 3.0 - std::log(z), 1e-12);
  // Along dim 0.
  std::vector<double> y0 = ops::softmax(x, 0).to_vector();
  EXPECT_NEAR(y0[0] + y0[3], 1.0, 1e-15);
}

TEST(Softmax, Gradcheck) {
  Generator gen(4);
  for (bool strided : {false, true}) {
    Tensor x = test::random_leaf({3, 5}, gen, strided, -2, 2);
    EXPECT_GRADCHECK([](auto& in) { return ops::softmax(in[0], -1); }, std::vector<Tensor>{x});
    EXPECT_GRADCHECK([](auto& in) { return ops::log_softmax(in[0], -1); }, std::vector<Tensor>{x});
    EXPECT_GRADCHECK([](auto& in) { return ops::softmax(in[0], 0); }, std::vector<Tensor>{x});
    Tensor y = test::random_leaf({2, 3, 4}, gen, strided, -2, 2);
    EXPECT_GRADCHECK([](auto& in) { return ops::log_softmax(in[0], 1); }, std::vector<Tensor>{y});
  }
}

TEST(Softmax, BadInputs) {
  EXPECT_ASR_ERROR(ops::softmax(Tensor::zeros({2, 3}), 2), "softmax: dim 2 out of range");
  EXPECT_ASR_ERROR(ops::log_softmax(Tensor::zeros({2}, DType::I64)), "log_softmax");
}
