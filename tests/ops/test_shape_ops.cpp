#include <gtest/gtest.h>

#include "asr/ops/ops.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;

TEST(Pad, PadsLastDimsFirstLikeTorch) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
  Tensor y = ops::pad(x, {1, 0}, -1);
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(y.to_vector(), (std::vector<double>{-1, 1, 2, -1, 3, 4}));
  Tensor z = ops::pad(x, {0, 1, 1, 0});
  EXPECT_EQ(z.shape(), (Shape{3, 3}));
  EXPECT_EQ(z.to_vector(), (std::vector<double>{0, 0, 0, 1, 2, 0, 3, 4, 0}));
  Tensor crop = ops::pad(x, {-1, 0});
  EXPECT_EQ(crop.to_vector(), (std::vector<double>{2, 4}));
}

TEST(Concat, JoinsAlongDim) {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2}, {1, 2});
  Tensor b = Tensor::from_vector(std::vector<double>{3, 4, 5, 6}, {2, 2});
  EXPECT_EQ(ops::concat({a, b}, 0).to_vector(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  Tensor c = ops::concat({b, b.transpose(0, 1)}, 1);
  EXPECT_EQ(c.to_vector(), (std::vector<double>{3, 4, 3, 5, 5, 6, 4, 6}));
}

TEST(ShapeOps, Gradcheck) {
  Generator gen(6);
  for (bool strided : {false, true}) {
    Tensor x = test::random_leaf({2, 3, 4}, gen, strided);
    EXPECT_GRADCHECK([](auto& in) { return ops::pad(in[0], {2, 1}); }, std::vector<Tensor>{x});
    EXPECT_GRADCHECK([](auto& in) { return ops::pad(in[0], {1, 1, 0, 2}, 3.0); }, std::vector<Tensor>{x});
    EXPECT_GRADCHECK([](auto& in) { return ops::pad(in[0], {-1, 1}); }, std::vector<Tensor>{x});
    Tensor y = test::random_leaf({2, 2, 4}, gen, strided);
    EXPECT_GRADCHECK([](auto& in) { return ops::concat({in[0], in[1], in[0]}, 1); }, (std::vector<Tensor>{x, y}));
  }
}

TEST(ShapeOps, BadInputs) {
  EXPECT_ASR_ERROR(ops::pad(Tensor::zeros({2}), {1}), "pad");
  EXPECT_ASR_ERROR(ops::pad(Tensor::zeros({2}), {-2, -1}), "pad");
  EXPECT_ASR_ERROR(ops::concat({Tensor::zeros({2, 2}), Tensor::zeros({3, 3})}, 0), "concat: sizes differ");
  EXPECT_ASR_ERROR(ops::concat({}, 0), "concat");
  EXPECT_ASR_ERROR(ops::concat({Tensor::zeros({2}), Tensor::zeros({2}, DType::F64)}, 0), "concat");
}
