// layer_norm and batch_norm: forward vs naive loops, running-stat updates, gradchecks
// (contiguous and strided), requested-grads-only, and bad inputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "asr/autograd/node.h"
#include "asr/ops/ops.h"
#include "support/gradcheck.h"

using namespace asr;
using ::testing::HasSubstr;

namespace {

// Naive layer norm over the last dim in double.
std::vector<double> ref_layer_norm(const std::vector<double>& x, int64_t n,
                                   const std::vector<double>& w, const std::vector<double>& b,
                                   double eps) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / n; ++r) {
    double mu = 0, var = 0;
    for (int64_t j = 0; j < n; ++j) mu += x[r * n + j];
    mu /= n;
    for (int64_t j = 0; j < n; ++j) var += (x[r * n + j] - mu) * (x[r * n + j] - mu);
    var /= n;
    for (int64_t j = 0; j < n; ++j) {
      double h = (x[r * n + j] - mu) / std::sqrt(var + eps);
      y[r * n + j] = h * (w.empty() ? 1.0 : w[j]) + (b.empty() ? 0.0 : b[j]);
    }
  }
  return y;
}

struct BnRef {
  std::vector<double> y, rm, rv;
};

// Naive batch norm on [N, C, L] in double, training (batch stats + running update) or eval.
BnRef ref_batch_norm(const std::vector<double>& x, int64_t N, int64_t C, int64_t L,
                     const std::vector<double>& w, const std::vector<double>& b,
                     std::vector<double> rm, std::vector<double> rv, bool training, double mom,
                     double eps) {
  BnRef out{std::vector<double>(x.size()), rm, rv};
  for (int64_t c = 0; c < C; ++c) {
    double mu = 0, var = 0;
    const double M = static_cast<double>(N * L);
    if (training) {
      for (int64_t i = 0; i < N; ++i)
        for (int64_t l = 0; l < L; ++l) mu += x[(i * C + c) * L + l];
      mu /= M;
      for (int64_t i = 0; i < N; ++i)
        for (int64_t l = 0; l < L; ++l) var += std::pow(x[(i * C + c) * L + l] - mu, 2);
      out.rm[c] = (1 - mom) * rm[c] + mom * mu;
      out.rv[c] = (1 - mom) * rv[c] + mom * var / (M - 1);
      var /= M;
    } else {
      mu = rm[c];
      var = rv[c];
    }
    for (int64_t i = 0; i < N; ++i)
      for (int64_t l = 0; l < L; ++l) {
        const size_t k = static_cast<size_t>((i * C + c) * L + l);
        out.y[k] = (x[k] - mu) / std::sqrt(var + eps) * w[c] + b[c];
      }
  }
  return out;
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

// ---- layer_norm --------------------------------------------------------------------------------

TEST(LayerNorm, ForwardMatchesNaive) {
  Generator gen(11);
  Tensor x = Tensor::randn({2, 3, 17}, gen, 2.0, DType::F64);
  x = ops::add_scalar(x, 5.0);  // a large mean exercises the two-pass variance
  Tensor w = Tensor::randn({17}, gen, 1.0, DType::F64);
  Tensor b = Tensor::randn({17}, gen, 1.0, DType::F64);
  auto ref = ref_layer_norm(x.to_vector(), 17, w.to_vector(), b.to_vector(), 1e-5);
  EXPECT_LT(max_diff(ops::layer_norm(x, w, b, 1e-5).to_vector(), ref), 1e-12);
  auto ref_nw = ref_layer_norm(x.to_vector(), 17, {}, {}, 1e-3);
  EXPECT_LT(max_diff(ops::layer_norm(x, Tensor(), Tensor(), 1e-3).to_vector(), ref_nw), 1e-12);
  // f32 agrees with the f64 result to float precision.
  Tensor y32 = ops::layer_norm(x.to(DType::F32), w.to(DType::F32), b.to(DType::F32), 1e-5);
  EXPECT_EQ(y32.dtype(), DType::F32);
  EXPECT_LT(max_diff(y32.to_vector(), ref), 1e-5);
}

TEST(LayerNorm, StridedInputMatchesContiguous) {
  Generator gen(12);
  Tensor x = test::random_leaf({5, 6}, gen, true).detach();
  ASSERT_FALSE(x.is_contiguous());
  Tensor w = test::random_leaf({6}, gen, true).detach();
  Tensor a = ops::layer_norm(x, w, Tensor());
  Tensor c = ops::layer_norm(x.contiguous(), w.contiguous(), Tensor());
  EXPECT_TRUE(test::bitwise_equal(a, c));
}

TEST(LayerNorm, Gradcheck) {
  Generator gen(13);
  for (bool strided : {false, true}) {
    SCOPED_TRACE(strided ? "strided" : "contiguous");
    Tensor x = test::random_leaf({3, 2, 5}, gen, strided);
    Tensor w = test::random_leaf({5}, gen, strided);
    Tensor b = test::random_leaf({5}, gen, strided);
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return ops::layer_norm(in[0], in[1], in[2], 1e-5); },
                     std::vector<Tensor>({x, w, b}));
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return ops::layer_norm(in[0], Tensor(), Tensor(), 1e-5); },
                     std::vector<Tensor>({x}));
  }
}

TEST(LayerNorm, ComputesOnlyRequestedGrads) {
  Generator gen(14);
  Tensor x = test::random_leaf({4, 8}, gen);
  Tensor w = Tensor::randn({8}, gen, 1.0, DType::F64);  // frozen
  Tensor b = test::random_leaf({8}, gen);
  ops::sum(ops::layer_norm(x, w, b)).backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_TRUE(b.grad().defined());
  EXPECT_FALSE(w.grad().defined());
  // d sum(y) / d bias = number of rows.
  for (double v : b.grad().to_vector()) EXPECT_DOUBLE_EQ(v, 4.0);

  // Only the weight: x gets no gradient.
  Tensor x2 = Tensor::randn({4, 8}, gen, 1.0, DType::F64);
  Tensor w2 = test::random_leaf({8}, gen);
  ops::sum(ops::layer_norm(x2, w2, Tensor())).backward();
  EXPECT_TRUE(w2.grad().defined());
  EXPECT_FALSE(x2.grad().defined());
}

TEST(LayerNorm, BadInputs) {
  Generator gen(15);
  Tensor x = Tensor::randn({2, 4}, gen);
  std::string m = error_of([&] { ops::layer_norm(x, Tensor::ones({3}), Tensor()); });
  EXPECT_THAT(m, HasSubstr("layer_norm"));
  EXPECT_THAT(m, HasSubstr("[2, 4]"));
  EXPECT_THAT(error_of([&] { ops::layer_norm(x, Tensor(), Tensor::ones({4, 1})); }),
              HasSubstr("layer_norm"));
  EXPECT_THAT(error_of([&] { ops::layer_norm(x, Tensor::ones({4}, DType::F64), Tensor()); }),
              HasSubstr("layer_norm"));
  EXPECT_THAT(error_of([&] { ops::layer_norm(Tensor::zeros({2, 4}, DType::I64), Tensor(), Tensor()); }),
              HasSubstr("layer_norm"));
  EXPECT_THAT(error_of([&] { ops::layer_norm(Tensor::zeros({2, 0}), Tensor(), Tensor()); }),
              HasSubstr("layer_norm"));
  EXPECT_THROW(ops::layer_norm(x, Tensor::ones({3}), Tensor()), Error);
}

// ---- batch_norm --------------------------------------------------------------------------------

TEST(BatchNorm, TrainingForwardAndRunningStats) {
  Generator gen(21);
  for (bool three_d : {true, false}) {
    SCOPED_TRACE(three_d ? "[N, C, L]" : "[N, C]");
    const int64_t N = 4, C = 3, L = three_d ? 5 : 1;
    Shape xs = three_d ? Shape{N, C, L} : Shape{N, C};
    Tensor x = ops::add_scalar(Tensor::randn(xs, gen, 2.0, DType::F64), 3.0);
    Tensor w = Tensor::randn({C}, gen, 1.0, DType::F64);
    Tensor b = Tensor::randn({C}, gen, 1.0, DType::F64);
    Tensor rm = Tensor::randn({C}, gen, 1.0, DType::F64);
    Tensor rv = Tensor::rand({C}, gen, 0.5, 2.0, DType::F64);
    BnRef ref = ref_batch_norm(x.to_vector(), N, C, L, w.to_vector(), b.to_vector(),
                               rm.to_vector(), rv.to_vector(), true, 0.1, 1e-5);
    Tensor y = ops::batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5);
    EXPECT_EQ(y.shape(), xs);
    EXPECT_LT(max_diff(y.to_vector(), ref.y), 1e-12);
    EXPECT_LT(max_diff(rm.to_vector(), ref.rm), 1e-12);
    EXPECT_LT(max_diff(rv.to_vector(), ref.rv), 1e-12);
  }
}

TEST(BatchNorm, TrainingWithoutRunningStats) {
  Generator gen(22);
  Tensor x = Tensor::randn({3, 2, 4}, gen, 1.0, DType::F64);
  Tensor w = Tensor::ones({2}, DType::F64), b = Tensor::zeros({2}, DType::F64);
  BnRef ref = ref_batch_norm(x.to_vector(), 3, 2, 4, w.to_vector(), b.to_vector(), {0, 0},
                             {1, 1}, true, 0.1, 1e-5);
  Tensor y = ops::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true);
  EXPECT_LT(max_diff(y.to_vector(), ref.y), 1e-12);
}

TEST(BatchNorm, EvalUsesRunningStatsAndLeavesThem) {
  Generator gen(23);
  Tensor x = Tensor::randn({2, 3, 4}, gen, 1.0, DType::F64);
  Tensor w = Tensor::randn({3}, gen, 1.0, DType::F64);
  Tensor b = Tensor::randn({3}, gen, 1.0, DType::F64);
  Tensor rm = Tensor::randn({3}, gen, 1.0, DType::F64);
  Tensor rv = Tensor::rand({3}, gen, 0.5, 2.0, DType::F64);
  auto rm0 = rm.to_vector(), rv0 = rv.to_vector();
  BnRef ref = ref_batch_norm(x.to_vector(), 2, 3, 4, w.to_vector(), b.to_vector(), rm0, rv0,
                             false, 0.1, 1e-5);
  Tensor y = ops::batch_norm(x, w, b, rm, rv, false);
  EXPECT_LT(max_diff(y.to_vector(), ref.y), 1e-12);
  EXPECT_EQ(rm.to_vector(), rm0);
  EXPECT_EQ(rv.to_vector(), rv0);
}

TEST(BatchNorm, StridedRunningStatsUpdatedInPlace) {
  Generator gen(24);
  Tensor x = Tensor::randn({5, 2, 3}, gen, 1.0, DType::F64);
  Tensor buf = Tensor::zeros({4}, DType::F64);
  Tensor rm = make_view(buf, {2}, {2}, 0);  // every other element
  Tensor rv = Tensor::ones({2}, DType::F64);
  ops::batch_norm(x, Tensor(), Tensor(), rm, rv, true, 0.5);
  BnRef ref = ref_batch_norm(x.to_vector(), 5, 2, 3, {1, 1}, {0, 0}, {0, 0}, {1, 1}, true, 0.5,
                             1e-5);
  EXPECT_LT(max_diff(rm.to_vector(), ref.rm), 1e-12);
  EXPECT_EQ(buf.to_vector()[1], 0.0);  // untouched gap
}

TEST(BatchNorm, Gradcheck) {
  Generator gen(25);
  for (bool strided : {false, true}) {
    SCOPED_TRACE(strided ? "strided" : "contiguous");
    Tensor x = test::random_leaf({3, 2, 4}, gen, strided);
    Tensor x2 = test::random_leaf({5, 3}, gen, strided);
    Tensor w = test::random_leaf({2}, gen, strided);
    Tensor b = test::random_leaf({2}, gen, strided);
    Tensor w3 = test::random_leaf({3}, gen, strided);
    Tensor rm = Tensor::randn({2}, gen, 1.0, DType::F64);
    Tensor rv = Tensor::rand({2}, gen, 0.5, 2.0, DType::F64);
    // Training (running stats are updated on every call but do not affect the output).
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) {
      return ops::batch_norm(in[0], in[1], in[2], rm, rv, true);
    }, std::vector<Tensor>({x, w, b}));
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) {
      return ops::batch_norm(in[0], in[1], Tensor(), Tensor(), Tensor(), true);
    }, std::vector<Tensor>({x2, w3}));
    // Inference: a per-channel affine map.
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) {
      return ops::batch_norm(in[0], in[1], in[2], rm, rv, false);
    }, std::vector<Tensor>({x, w, b}));
  }
}

TEST(BatchNorm, ComputesOnlyRequestedGrads) {
  Generator gen(26);
  Tensor x = Tensor::randn({4, 3, 2}, gen, 1.0, DType::F64);  // frozen input
  Tensor w = test::random_leaf({3}, gen);
  Tensor b = Tensor::zeros({3}, DType::F64);
  ops::sum(ops::batch_norm(x, w, b, Tensor(), Tensor(), true)).backward();
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(b.grad().defined());
}

TEST(BatchNorm, BadInputs) {
  Tensor x = Tensor::zeros({2, 3, 4});
  Tensor rm = Tensor::zeros({3}), rv = Tensor::ones({3});
  auto has_op = HasSubstr("batch_norm");
  EXPECT_THAT(error_of([&] { ops::batch_norm(Tensor::zeros({2, 3, 4, 5}), Tensor(), Tensor(), rm, rv, true); }),
              has_op);
  std::string m = error_of([&] { ops::batch_norm(x, Tensor::ones({4}), Tensor(), rm, rv, true); });
  EXPECT_THAT(m, has_op);
  EXPECT_THAT(m, HasSubstr("[2, 3, 4]"));
  EXPECT_THAT(error_of([&] { ops::batch_norm(x, Tensor(), Tensor(), Tensor::zeros({2}), rv, true); }), has_op);
  EXPECT_THAT(error_of([&] { ops::batch_norm(x, Tensor(), Tensor(), rm, Tensor(), true); }), has_op);
  EXPECT_THAT(error_of([&] { ops::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false); }), has_op);
  Tensor rg = Tensor::zeros({3});
  rg.set_requires_grad(true);
  EXPECT_THAT(error_of([&] { ops::batch_norm(x, Tensor(), Tensor(), rg, rv, true); }),
              HasSubstr("must not require grad"));
  EXPECT_THAT(error_of([&] { ops::batch_norm(Tensor::zeros({1, 3}), Tensor(), Tensor(), rm, rv, true); }),
              HasSubstr("more than 1 value per channel"));
  EXPECT_THAT(error_of([&] { ops::batch_norm(x, Tensor(), Tensor(), Tensor::zeros({3}, DType::F64), Tensor::ones({3}, DType::F64), true); }),
              has_op);
  EXPECT_THROW(ops::batch_norm(Tensor::zeros({2}), Tensor(), Tensor(), rm, rv, true), Error);
}

TEST(BatchNorm, ReadOnlyRunningStatsOnlyInEval) {
  std::vector<double> m = {0.5, -0.5}, v = {2.0, 0.5};
  Tensor rm = Tensor::from_external(m.data(), {2}, DType::F64, Device::cpu(), nullptr, true);
  Tensor rv = Tensor::from_external(v.data(), {2}, DType::F64, Device::cpu(), nullptr, true);
  Generator gen(27);
  Tensor x = Tensor::randn({3, 2}, gen, 1.0, DType::F64);
  BnRef ref = ref_batch_norm(x.to_vector(), 3, 2, 1, {1, 1}, {0, 0}, m, v, false, 0.1, 1e-5);
  EXPECT_LT(max_diff(ops::batch_norm(x, Tensor(), Tensor(), rm, rv, false).to_vector(), ref.y), 1e-12);
  EXPECT_THAT(error_of([&] { ops::batch_norm(x, Tensor(), Tensor(), rm, rv, true); }),
              HasSubstr("read-only"));
}
