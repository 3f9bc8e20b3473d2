#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "asr/ops/ops.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

TEST(Elementwise, BinaryOpsBroadcastLikeNumpy) {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector(std::vector<double>{10, 20, 30}, {3});
  EXPECT_EQ(ops::add(a, b).to_vector(), (std::vector<double>{11, 22, 33, 14, 25, 36}));
  EXPECT_EQ(ops::sub(a, b).to_vector(), (std::vector<double>{-9, -18, -27, -6, -15, -24}));
  EXPECT_EQ(ops::mul(a, b).to_vector(), (std::vector<double>{10, 40, 90, 40, 100, 180}));
  Tensor c = Tensor::from_vector(std::vector<double>{2, 4}, {2, 1});
  EXPECT_EQ(ops::div(a, c).to_vector(), (std::vector<double>{0.5, 1, 1.5, 1, 1.25, 1.5}));
  EXPECT_EQ((a * 2.0 - a).to_vector(), a.to_vector());
  EXPECT_EQ(ops::add_scalar(a, 1).to_vector()[0], 2.0);
}

TEST(Elementwise, UnaryForwardMatchesLibm) {
  std::vector<double> v{-2.5, -0.3, 0.0, 0.7, 3.0};
  Tensor x = Tensor::from_vector(v, {5}, DType::F64);
  auto check = [&](Tensor y, std::function<double(double)> ref, const char* name) {
    std::vector<double> out = y.to_vector();
    for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(out[i], ref(v[i]), 1e-12) << name << " at " << v[i];
  };
  check(ops::exp(x), [](double t) { return std::exp(t); }, "exp");
  check(ops::relu(x), [](double t) { return t > 0 ? t : 0; }, "relu");
  check(ops::sigmoid(x), [](double t) { return 1 / (1 + std::exp(-t)); }, "sigmoid");
  check(ops::tanh(x), [](double t) { return std::tanh(t); }, "tanh");
  check(ops::silu(x), [](double t) { return t / (1 + std::exp(-t)); }, "silu");
  check(ops::gelu(x), [](double t) { return 0.5 * t * (1 + std::erf(t / std::sqrt(2.0))); }, "gelu");
  check(ops::abs(x), [](double t) { return std::fabs(t); }, "abs");
  check(ops::neg(x), [](double t) { return -t; }, "neg");
  Tensor p = Tensor::from_vector(std::vector<double>{0.5, 4.0}, {2}, DType::F64);
  EXPECT_NEAR(ops::log(p).to_vector()[0], std::log(0.5), 1e-15);
  EXPECT_NEAR(ops::sqrt(p).to_vector()[1], 2.0, 1e-15);
}

// As torch.relu: a NaN goes through, so a poisoned input shows as a non-finite loss (and the
// trainer skips the step) instead of being silently zeroed (tests/e2e/faults/nan_batch_skipped.sh).
TEST(Elementwise, ReluPassesNanThrough) {
  for (DType t : {DType::F32, DType::F64}) {
    const Tensor x = Tensor::from_vector(std::vector<double>{NAN, -1.0, 2.0}, {3}, t);
    const std::vector<double> y = ops::relu(x).to_vector();
    EXPECT_TRUE(std::isnan(y[0])) << dtype_name(t);
    EXPECT_EQ(y[1], 0.0);
    EXPECT_EQ(y[2], 2.0);
  }
}

TEST(Elementwise, GluSplitsAlongDim) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 0, 100}, {1, 4});
  std::vector<double> y = ops::glu(x, 1).to_vector();
  EXPECT_NEAR(y[0], 0.5, 1e-6);
  EXPECT_NEAR(y[1], 2.0, 1e-6);
}

TEST(Elementwise, WhereAndMaskedFill) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
  Tensor m = Tensor::from_vector(std::vector<double>{1, 0}, {2}, DType::Bool);
  EXPECT_EQ(ops::masked_fill(x, m, -9).to_vector(), (std::vector<double>{-9, 2, -9, 4}));
  Tensor y = Tensor::zeros({2, 2});
  EXPECT_EQ(ops::where(m, x, y).to_vector(), (std::vector<double>{1, 0, 3, 0}));
}

class ElementwiseGrad : public ::testing::TestWithParam<bool> {};  // param: strided inputs

TEST_P(ElementwiseGrad, EveryOpPassesGradcheck) {
  const bool strided = GetParam();
  Generator gen(11);
  std::vector<std::pair<const char*, Fn>> binary = {
      {"add", [](auto& in) { return ops::add(in[0], in[1]); }},
      {"sub", [](auto& in) { return ops::sub(in[0], in[1]); }},
      {"mul", [](auto& in) { return ops::mul(in[0], in[1]); }},
      {"div", [](auto& in) { return ops::div(in[0], in[1]); }},
  };
  for (auto& [name, fn] : binary) {
    SCOPED_TRACE(name);
    Tensor a = test::random_leaf({3, 4}, gen, strided);
    Tensor b = test::random_leaf({4}, gen, strided, 0.5, 2.0);  // broadcast; away from 0 for div
    EXPECT_GRADCHECK(fn, (std::vector<Tensor>{a, b}));
    Tensor c = test::random_leaf({3, 1}, gen, false, 0.5, 2.0);
    EXPECT_GRADCHECK(fn, (std::vector<Tensor>{a, c}));
  }
  std::vector<std::pair<const char*, Fn>> unary = {
      {"scale", [](auto& in) { return ops::scale(in[0], -1.7); }},
      {"add_scalar", [](auto& in) { return ops::add_scalar(in[0], 0.3); }},
      {"neg", [](auto& in) { return ops::neg(in[0]); }},
      {"exp", [](auto& in) { return ops::exp(in[0]); }},
      {"relu", [](auto& in) { return ops::relu(in[0]); }},
      {"sigmoid", [](auto& in) { return ops::sigmoid(in[0]); }},
      {"tanh", [](auto& in) { return ops::tanh(in[0]); }},
      {"silu", [](auto& in) { return ops::silu(in[0]); }},
      {"gelu", [](auto& in) { return ops::gelu(in[0]); }},
      {"abs", [](auto& in) { return ops::abs(in[0]); }},
      {"glu", [](auto& in) { return ops::glu(in[0], 1); }},
      {"glu0", [](auto& in) { return ops::glu(in[0], 0); }},
  };
  for (auto& [name, fn] : unary) {
    SCOPED_TRACE(name);
    // Keep values away from relu/abs kinks where finite differences are meaningless.
    Tensor x = test::random_leaf({4, 6}, gen, strided, 0.05, 1.0);
    EXPECT_GRADCHECK(fn, std::vector<Tensor>{x});
    Tensor xn = test::random_leaf({4, 6}, gen, strided, -1.0, -0.05);
    EXPECT_GRADCHECK(fn, std::vector<Tensor>{xn});
  }
  Tensor pos = test::random_leaf({3, 5}, gen, strided, 0.5, 2.0);
  EXPECT_GRADCHECK([](auto& in) { return ops::log(in[0]); }, std::vector<Tensor>{pos});
  EXPECT_GRADCHECK([](auto& in) { return ops::sqrt(in[0]); }, std::vector<Tensor>{pos});
  Tensor mask = Tensor::from_vector(std::vector<double>{1, 0, 0, 1, 1}, {5}, DType::Bool);
  Tensor a = test::random_leaf({3, 5}, gen, strided), b = test::random_leaf({3, 5}, gen, strided);
  EXPECT_GRADCHECK([&](auto& in) { return ops::where(mask, in[0], in[1]); }, (std::vector<Tensor>{a, b}));
  EXPECT_GRADCHECK([&](auto& in) { return ops::masked_fill(in[0], mask, 5.0); }, std::vector<Tensor>{a});
}

INSTANTIATE_TEST_SUITE_P(ContiguousAndStrided, ElementwiseGrad, ::testing::Values(false, true));

TEST(Elementwise, BadInputsNameTheOp) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4});
  EXPECT_ASR_ERROR(ops::add(a, b), "add: shapes [2, 3] and [4] cannot be broadcast");
  EXPECT_ASR_ERROR(ops::mul(a, Tensor::zeros({3}, DType::F64)), "mul: dtype mismatch");
  EXPECT_ASR_ERROR(ops::exp(Tensor::zeros({2}, DType::I64)), "exp: expects f32 or f64");
  EXPECT_ASR_ERROR(ops::glu(Tensor::zeros({2, 3}), 1), "glu");
  EXPECT_ASR_ERROR(ops::where(a, a, a), "where: condition must be bool");
  EXPECT_ASR_ERROR(ops::masked_fill(a, Tensor::zeros({2, 3, 1}, DType::Bool), 0), "masked_fill");
}

TEST(Elementwise, DeviceMismatchIsAnErrorNotACrash) {
  // A tensor that claims to live on CUDA (never dereferenced: the check runs first).
  static float fake[4];
  Tensor on_gpu = Tensor::from_external(fake, {4}, DType::F32, Device::cuda(0), nullptr, true);
  EXPECT_ASR_ERROR(ops::add(Tensor::zeros({4}), on_gpu), "add: device mismatch");
  EXPECT_ASR_ERROR(ops::matmul(Tensor::zeros({4, 4}), on_gpu), "matmul: device mismatch");
  EXPECT_ASR_ERROR(ops::linear(Tensor::zeros({2, 4}), Tensor::zeros({4, 4}), on_gpu), "linear: device mismatch");
}
