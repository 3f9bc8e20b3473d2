#include <gtest/gtest.h>

#include "asr/ops/ops.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;

TEST(Reduce, SumAndMeanOverDims) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(ops::sum(x).item(), 21.0);
  EXPECT_EQ(ops::sum(x).dim(), 0);
  EXPECT_EQ(ops::sum(x, {0}).to_vector(), (std::vector<double>{5, 7, 9}));
  EXPECT_EQ(ops::sum(x, {1}, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(ops::sum(x, {-1}).to_vector(), (std::vector<double>{6, 15}));
  EXPECT_EQ(ops::mean(x, {1}).to_vector(), (std::vector<double>{2, 5}));
  EXPECT_EQ(ops::mean(x).item(), 3.5);
  EXPECT_EQ(ops::sum(x.transpose(0, 1), {1}).to_vector(), (std::vector<double>{5, 7, 9}));
}

TEST(Reduce, Gradcheck) {
  Generator gen(2);
  for (bool strided : {false, true}) {
    Tensor x = test::random_leaf({3, 4, 5}, gen, strided);
    EXPECT_GRADCHECK([](auto& in) { return ops::sum(in[0], {1}); }, std::vector<Tensor>{x});
    EXPECT_GRADCHECK([](auto& in) { return ops::sum(in[0], {0, 2}, true); }, std::vector<Tensor>{x});
    EXPECT_GRADCHECK([](auto& in) { return ops::mean(in[0], {-1}); }, std::vector<Tensor>{x});
    EXPECT_GRADCHECK([](auto& in) { return ops::mean(in[0]); }, std::vector<Tensor>{x});
  }
}

TEST(Reduce, BadInputs) {
  EXPECT_ASR_ERROR(ops::sum(Tensor::zeros({2}), {3}), "sum: dim 3 out of range");
  EXPECT_ASR_ERROR(ops::mean(Tensor::zeros({0, 2}), {0}), "mean");
  EXPECT_ASR_ERROR(ops::sum(Tensor::zeros({2}, DType::I32)), "sum");
}
