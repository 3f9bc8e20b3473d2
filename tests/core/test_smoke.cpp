#include <gtest/gtest.h>
#include "asr/ops/ops.h"
#include "support/gradcheck.h"
using namespace asr;
TEST(Smoke, AddMulGrad) {
  Generator g(1);
  auto a = test::random_leaf({3, 4}, g), b = test::random_leaf({4}, g, true);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return ops::mul(ops::add(in[0], in[1]), in[1]); }, std::vector<Tensor>({a, b}));
}
