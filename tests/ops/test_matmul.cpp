#include <gtest/gtest.h>

#include "asr/ops/ops.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;

namespace {
// Naive [.., m, k] x [k, n] reference on row-major doubles.
std::vector<double> naive_mm(const std::vector<double>& a, const std::vector<double>& b, int64_t batch,
                             int64_t m, int64_t k, int64_t n, bool b_batched) {
  std::vector<double> c(static_cast<size_t>(batch * m * n), 0.0);
  for (int64_t z = 0; z < batch; ++z)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p)
          s += a[z * m * k + i * k + p] * b[(b_batched ? z * k * n : 0) + p * n + j];
        c[z * m * n + i * n + j] = s;
      }
  return c;
}
}  // namespace

TEST(Matmul, MatchesNaiveReferenceIncludingBroadcastAndTransposedViews) {
  Generator gen(1);
  Tensor a = Tensor::randn({3, 4, 5}, gen, 1.0, DType::F64);
  Tensor b = Tensor::randn({5, 6}, gen, 1.0, DType::F64);
  std::vector<double> ref = naive_mm(a.to_vector(), b.to_vector(), 3, 4, 5, 6, false);
  EXPECT_LT(test::max_abs_diff(ops::matmul(a, b), Tensor::from_vector(ref, {3, 4, 6}, DType::F64)), 1e-12);
  Tensor bb = Tensor::randn({3, 5, 6}, gen, 1.0, DType::F64);
  ref = naive_mm(a.to_vector(), bb.to_vector(), 3, 4, 5, 6, true);
  EXPECT_LT(test::max_abs_diff(ops::matmul(a, bb), Tensor::from_vector(ref, {3, 4, 6}, DType::F64)), 1e-12);
  // A transposed view goes to BLAS as a transpose flag: same result as the copied operand.
  Tensor bt = Tensor::randn({6, 5}, gen, 1.0, DType::F64).transpose(0, 1);
  EXPECT_LT(test::max_abs_diff(ops::matmul(a, bt), ops::matmul(a, bt.contiguous())), 1e-12);
  // Vectors.
  Tensor v = Tensor::randn({5}, gen, 1.0, DType::F64);
  EXPECT_EQ(ops::matmul(a, v).shape(), (Shape{3, 4}));
  EXPECT_EQ(ops::matmul(v, b).shape(), (Shape{6}));
}

TEST(Matmul, LinearEqualsMatmulWithTransposedWeightPlusBias) {
  Generator gen(2);
  Tensor x = Tensor::randn({2, 3, 8}, gen);
  Tensor w = Tensor::randn({5, 8}, gen);
  Tensor bias = Tensor::randn({5}, gen);
  Tensor ref = ops::add(ops::matmul(x, w.transpose(0, 1)), bias);
  EXPECT_LT(test::max_abs_diff(ops::linear(x, w, bias), ref), 1e-5);
}

TEST(Matmul, Gradcheck) {
  Generator gen(3);
  for (bool strided : {false, true}) {
    Tensor a = test::random_leaf({2, 3, 4}, gen, strided), b = test::random_leaf({4, 5}, gen, strided);
    EXPECT_GRADCHECK([](auto& in) { return ops::matmul(in[0], in[1]); }, (std::vector<Tensor>{a, b}));
    Tensor c = test::random_leaf({2, 4, 3}, gen, strided);
    EXPECT_GRADCHECK([](auto& in) { return ops::matmul(in[0], in[1]); }, (std::vector<Tensor>{a, c}));
    Tensor v = test::random_leaf({4}, gen, strided);
    EXPECT_GRADCHECK([](auto& in) { return ops::matmul(in[0], in[1]); }, (std::vector<Tensor>{a, v}));
    Tensor x = test::random_leaf({2, 3, 6}, gen, strided), w = test::random_leaf({4, 6}, gen, strided);
    Tensor bias = test::random_leaf({4}, gen, strided);
    EXPECT_GRADCHECK([](auto& in) { return ops::linear(in[0], in[1], in[2]); }, (std::vector<Tensor>{x, w, bias}));
  }
}

TEST(Matmul, BadInputs) {
  EXPECT_ASR_ERROR(ops::matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 2})),
                   "matmul: inner dimensions differ: f32[2, 3] cpu and f32[4, 2] cpu");
  EXPECT_ASR_ERROR(ops::matmul(Tensor::zeros({2, 2, 3}), Tensor::zeros({3, 3, 2})), "matmul");
  EXPECT_ASR_ERROR(ops::linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})), "linear: input f32[2, 3]");
  EXPECT_ASR_ERROR(ops::linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 3}), Tensor::zeros({5})), "linear: bias");
  EXPECT_ASR_ERROR(ops::matmul(Tensor::zeros({2, 3}), Tensor::zeros({3, 2}, DType::F64)), "matmul: dtype mismatch");
}
