#include <gtest/gtest.h>

#include "asr/ops/ops.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;

TEST(Index, IndexSelectAndGatherMatchTorchSemantics) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor idx = Tensor::from_vector(std::vector<int64_t>{2, 0, 2}, {3});
  EXPECT_EQ(ops::index_select(x, 1, idx).to_vector(), (std::vector<double>{3, 1, 3, 6, 4, 6}));
  EXPECT_EQ(ops::index_select(x, 0, Tensor::from_vector(std::vector<int64_t>{1}, {1})).to_vector(),
            (std::vector<double>{4, 5, 6}));
  Tensor gi = Tensor::from_vector(std::vector<int64_t>{0, 0, 1, 2}, {2, 2});
  EXPECT_EQ(ops::gather(x, 1, gi).to_vector(), (std::vector<double>{1, 1, 5, 6}));
  Tensor gi0 = Tensor::from_vector(std::vector<int64_t>{1, 0, 1}, {1, 3});
  EXPECT_EQ(ops::gather(x, 0, gi0).to_vector(), (std::vector<double>{4, 2, 6}));
  Tensor i32 = Tensor::from_vector(std::vector<double>{1}, {1}, DType::I32);
  EXPECT_EQ(ops::index_select(x, 1, i32).to_vector(), (std::vector<double>{2, 5}));
}

TEST(Index, GradcheckWithRepeatedIndices) {
  Generator gen(8);
  for (bool strided : {false, true}) {
    Tensor x = test::random_leaf({3, 4}, gen, strided);
    Tensor idx = Tensor::from_vector(std::vector<int64_t>{3, 1, 3, 0}, {4});
    EXPECT_GRADCHECK([&](auto& in) { return ops::index_select(in[0], 1, idx); }, std::vector<Tensor>{x});
    Tensor gi = Tensor::from_vector(std::vector<int64_t>{0, 2, 2, 1, 1, 1}, {3, 2});
    EXPECT_GRADCHECK([&](auto& in) { return ops::gather(in[0], 0, gi); }, std::vector<Tensor>{x});
  }
}

TEST(Index, OutOfRangeIndicesRaiseNamedErrors) {
  Tensor x = Tensor::zeros({2, 3});
  EXPECT_ASR_ERROR(ops::index_select(x, 1, Tensor::from_vector(std::vector<int64_t>{3}, {1})),
                   "index_select: index 3 at position 0 is out of range for dim 1 of f32[2, 3]");
  EXPECT_ASR_ERROR(ops::index_select(x, 0, Tensor::from_vector(std::vector<int64_t>{-1}, {1})), "index_select");
  EXPECT_ASR_ERROR(ops::index_select(x, 0, Tensor::zeros({1})), "index_select: index must be i64");
  EXPECT_ASR_ERROR(ops::gather(x, 1, Tensor::from_vector(std::vector<int64_t>{5}, {1, 1})), "gather: index 5");
  EXPECT_ASR_ERROR(ops::gather(x, 1, Tensor::from_vector(std::vector<int64_t>{0}, {1})), "gather: index");
  EXPECT_ASR_ERROR(ops::gather(x, 1, Tensor::zeros({3, 1}, DType::I64)), "gather: index i64[3, 1] cpu is larger");
}
