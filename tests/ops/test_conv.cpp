// conv1d / conv2d: forward and backward against naive loops, gradient checks, frozen-weight
// work skipping, determinism and argument errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "asr/backend/backend.h"
#include "asr/ops/ops.h"
#include "support/gradcheck.h"

using namespace asr;

namespace {

struct Cfg {
  int64_t N, Cin, Cout, H, W, KH, KW, stride, pad, groups;
  int64_t Ho() const { return (H + 2 * pad - KH) / stride + 1; }
  int64_t Wo() const { return (W + 2 * pad - KW) / stride + 1; }
};

// conv1d configs are stored as H = KH = 1 (no padding or stride along H).
bool is2d(const Cfg& c) { return c.H > 1 || c.KH > 1; }

// Naive 2-D convolution (conv1d is H = KH = 1 with no H padding); vectors are row-major.
std::vector<double> ref_forward(const Cfg& c, const std::vector<double>& x,
                                const std::vector<double>& w, const std::vector<double>* b) {
  const int64_t cg = c.Cin / c.groups, cog = c.Cout / c.groups;
  const int64_t ph = is2d(c) ? c.pad : 0, sh = is2d(c) ? c.stride : 1;
  const int64_t Ho = (c.H + 2 * ph - c.KH) / sh + 1, Wo = c.Wo();
  std::vector<double> y(static_cast<size_t>(c.N * c.Cout * Ho * Wo), 0.0);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t co = 0; co < c.Cout; ++co)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          double s = b ? (*b)[co] : 0.0;
          const int64_t grp = co / cog;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t kh = 0; kh < c.KH; ++kh)
              for (int64_t kw = 0; kw < c.KW; ++kw) {
                const int64_t ih = oh * sh - ph + kh, iw = ow * c.stride - c.pad + kw;
                if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                const int64_t cin = grp * cg + ci;
                s += x[((n * c.Cin + cin) * c.H + ih) * c.W + iw] *
                     w[((co * cg + ci) * c.KH + kh) * c.KW + kw];
              }
          y[((n * c.Cout + co) * Ho + oh) * Wo + ow] = s;
        }
  return y;
}

// Naive gradients of sum(y * gy) with respect to x, w, bias.
void ref_backward(const Cfg& c, const std::vector<double>& x,
                  const std::vector<double>& w, const std::vector<double>& gy,
                  std::vector<double>& gx, std::vector<double>& gw, std::vector<double>& gb) {
  const int64_t cg = c.Cin / c.groups, cog = c.Cout / c.groups;
  const int64_t ph = is2d(c) ? c.pad : 0, sh = is2d(c) ? c.stride : 1;
  const int64_t Ho = (c.H + 2 * ph - c.KH) / sh + 1, Wo = c.Wo();
  gx.assign(x.size(), 0.0);
  gw.assign(w.size(), 0.0);
  gb.assign(static_cast<size_t>(c.Cout), 0.0);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t co = 0; co < c.Cout; ++co)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          const double g = gy[((n * c.Cout + co) * Ho + oh) * Wo + ow];
          gb[co] += g;
          const int64_t grp = co / cog;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t kh = 0; kh < c.KH; ++kh)
              for (int64_t kw = 0; kw < c.KW; ++kw) {
                const int64_t ih = oh * sh - ph + kh, iw = ow * c.stride - c.pad + kw;
                if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                const int64_t xi = ((n * c.Cin + grp * cg + ci) * c.H + ih) * c.W + iw;
                const int64_t wi = ((co * cg + ci) * c.KH + kh) * c.KW + kw;
                gx[xi] += g * w[wi];
                gw[wi] += g * x[xi];
              }
        }
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

Tensor run_conv(const Cfg& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  if (!is2d(c)) return ops::conv1d(x, w, b, c.stride, c.pad, c.groups);
  return ops::conv2d(x, w, b, c.stride, c.pad, c.groups);
}

Shape x_shape(const Cfg& c) {
  return is2d(c) ? Shape{c.N, c.Cin, c.H, c.W} : Shape{c.N, c.Cin, c.W};
}
Shape w_shape(const Cfg& c) {
  return is2d(c) ? Shape{c.Cout, c.Cin / c.groups, c.KH, c.KW}
                 : Shape{c.Cout, c.Cin / c.groups, c.KW};
}

// Forward and backward (through the autograd op) vs the naive loops, in `dt`.
void check_against_reference(const Cfg& c, bool with_bias, DType dt, double tol) {
  SCOPED_TRACE(testing::Message() << "N" << c.N << " Cin" << c.Cin << " Cout" << c.Cout << " H"
                                  << c.H << " W" << c.W << " K" << c.KH << "x" << c.KW << " s"
                                  << c.stride << " p" << c.pad << " g" << c.groups
                                  << (with_bias ? " bias" : "") << " " << dtype_name(dt));
  Generator gen(7);
  Tensor x = Tensor::randn(x_shape(c), gen, 1.0, dt).set_requires_grad(true);
  Tensor w = Tensor::randn(w_shape(c), gen, 0.5, dt).set_requires_grad(true);
  Tensor b = with_bias ? Tensor::randn({c.Cout}, gen, 1.0, dt).set_requires_grad(true) : Tensor();
  Tensor y = run_conv(c, x, w, b);
  std::vector<double> bv = with_bias ? b.to_vector() : std::vector<double>();
  std::vector<double> yr = ref_forward(c, x.to_vector(), w.to_vector(), with_bias ? &bv : nullptr);
  Shape ys = is2d(c) ? Shape{c.N, c.Cout, c.Ho(), c.Wo()} : Shape{c.N, c.Cout, c.Wo()};
  ASSERT_EQ(y.shape(), ys);
  EXPECT_LT(max_diff(y.to_vector(), yr), tol);

  Tensor gy = Tensor::randn(ys, gen, 1.0, dt);
  y.backward(gy);
  std::vector<double> gx, gw, gb;
  ref_backward(c, x.to_vector(), w.to_vector(), gy.to_vector(), gx, gw, gb);
  ASSERT_TRUE(x.grad().defined());
  ASSERT_TRUE(w.grad().defined());
  EXPECT_LT(max_diff(x.grad().to_vector(), gx), tol);
  EXPECT_LT(max_diff(w.grad().to_vector(), gw), tol * 4);
  if (with_bias) {
    EXPECT_LT(max_diff(b.grad().to_vector(), gb), tol * 4);
  }
}

Cfg c1(int64_t N, int64_t Cin, int64_t Cout, int64_t L, int64_t K, int64_t s, int64_t p,
       int64_t g) {
  return Cfg{N, Cin, Cout, 1, L, 1, K, s, p, g};
}
Cfg c2(int64_t N, int64_t Cin, int64_t Cout, int64_t H, int64_t W, int64_t K, int64_t s,
       int64_t p, int64_t g) {
  return Cfg{N, Cin, Cout, H, W, K, K, s, p, g};
}

const std::vector<Cfg>& conv1d_cfgs() {
  static const std::vector<Cfg> cfgs = {
      c1(2, 8, 6, 13, 1, 1, 0, 1),    // pointwise (direct GEMM)
      c1(2, 4, 4, 40, 31, 1, 15, 4),  // depthwise K=31 "same"
      c1(2, 6, 4, 11, 3, 1, 1, 2),    // grouped
      c1(3, 3, 5, 17, 5, 2, 2, 1),    // strided
      c1(2, 4, 8, 9, 3, 1, 1, 4),     // depthwise with channel multiplier 2 (GEMM path)
      c1(2, 6, 6, 10, 1, 2, 0, 3),    // 1x1 with stride (im2col path) and groups
      c1(1, 3, 3, 5, 7, 3, 2, 3),     // depthwise, kernel wider than the input, stride 3
  };
  return cfgs;
}

const std::vector<Cfg>& conv2d_cfgs() {
  static const std::vector<Cfg> cfgs = {
      c2(2, 3, 5, 9, 8, 3, 2, 1, 1),    // regular k3 s2 p1
      c2(2, 4, 4, 9, 10, 3, 2, 1, 4),   // depthwise k3 s2 p1
      c2(2, 6, 5, 7, 6, 1, 1, 0, 1),    // pointwise
      c2(1, 4, 6, 6, 7, 3, 1, 1, 2),    // grouped
      c2(2, 1, 4, 8, 8, 3, 2, 1, 1),    // single input channel (first subsampling conv)
  };
  return cfgs;
}

uint64_t gemm_calls() { return backend_for(Device::cpu()).stats().gemm_calls; }

// Expects an asr::Error whose message contains `what`.
template <typename Fn>
void expect_error(Fn&& fn, const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << "expected asr::Error containing '" << what << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Conv1d, ForwardBackwardMatchReferenceF64) {
  for (const Cfg& c : conv1d_cfgs())
    for (bool bias : {false, true}) check_against_reference(c, bias, DType::F64, 1e-10);
}

TEST(Conv1d, ForwardBackwardMatchReferenceF32) {
  for (const Cfg& c : conv1d_cfgs()) check_against_reference(c, true, DType::F32, 1e-4);
}

TEST(Conv2d, ForwardBackwardMatchReferenceF64) {
  for (const Cfg& c : conv2d_cfgs())
    for (bool bias : {false, true}) check_against_reference(c, bias, DType::F64, 1e-10);
}

TEST(Conv2d, ForwardBackwardMatchReferenceF32) {
  for (const Cfg& c : conv2d_cfgs()) check_against_reference(c, true, DType::F32, 1e-4);
}

// Enough output positions x input rows that the im2col buffer is processed in several chunks.
TEST(Conv2d, ChunkedIm2colMatchesReference) {
  check_against_reference(c2(1, 64, 4, 100, 100, 3, 2, 1, 1), true, DType::F32, 2e-3);
}

TEST(Conv1d, Gradcheck) {
  Generator gen(11);
  const std::vector<Cfg> cfgs = {
      c1(2, 4, 3, 5, 1, 1, 0, 1),  // pointwise
      c1(2, 3, 3, 7, 5, 1, 2, 3),  // depthwise
      c1(1, 4, 6, 6, 3, 2, 1, 2),  // grouped + strided
  };
  for (const Cfg& c : cfgs)
    for (bool strided : {false, true}) {
      SCOPED_TRACE(testing::Message() << "K" << c.KW << " g" << c.groups << " strided " << strided);
      Tensor x = test::random_leaf(x_shape(c), gen, strided);
      Tensor w = test::random_leaf(w_shape(c), gen, strided);
      Tensor b = test::random_leaf({c.Cout}, gen, strided);
      EXPECT_GRADCHECK([c](const std::vector<Tensor>& in) { return run_conv(c, in[0], in[1], in[2]); },
                       std::vector<Tensor>({x, w, b}));
    }
}

TEST(Conv2d, Gradcheck) {
  Generator gen(12);
  const std::vector<Cfg> cfgs = {
      c2(1, 2, 3, 5, 4, 3, 2, 1, 1),  // regular k3 s2 p1
      c2(2, 3, 3, 5, 5, 3, 2, 1, 3),  // depthwise k3 s2 p1
      c2(1, 4, 2, 3, 3, 1, 1, 0, 1),  // pointwise
      c2(1, 4, 4, 4, 3, 2, 1, 1, 2),  // grouped, even kernel
  };
  for (const Cfg& c : cfgs)
    for (bool strided : {false, true}) {
      SCOPED_TRACE(testing::Message() << "K" << c.KW << " g" << c.groups << " strided " << strided);
      Tensor x = test::random_leaf(x_shape(c), gen, strided);
      Tensor w = test::random_leaf(w_shape(c), gen);
      Tensor b = test::random_leaf({c.Cout}, gen);
      EXPECT_GRADCHECK([c](const std::vector<Tensor>& in) { return run_conv(c, in[0], in[1], in[2]); },
                       std::vector<Tensor>({x, w, b}));
    }
}

// A frozen weight gets no gradient and its dW GEMMs are never issued.
TEST(Conv1d, FrozenWeightSkipsWeightGradient) {
  const Cfg cfgs[] = {c1(2, 8, 6, 20, 3, 1, 1, 2), c1(2, 8, 6, 20, 1, 1, 0, 1)};
  for (const Cfg& c : cfgs) {
    Generator gen(3);
    Tensor x = Tensor::randn(x_shape(c), gen).set_requires_grad(true);
    Tensor w = Tensor::randn(w_shape(c), gen);
    Tensor gy = Tensor::randn({c.N, c.Cout, c.Wo()}, gen);

    Tensor y = ops::conv1d(x, w, Tensor(), c.stride, c.pad, c.groups);
    uint64_t before = gemm_calls();
    y.backward(gy);
    const uint64_t frozen = gemm_calls() - before;
    EXPECT_FALSE(w.grad().defined());
    ASSERT_TRUE(x.grad().defined());
    std::vector<double> gx_frozen = x.grad().to_vector();

    x.zero_grad();
    w.set_requires_grad(true);
    y = ops::conv1d(x, w, Tensor(), c.stride, c.pad, c.groups);
    before = gemm_calls();
    y.backward(gy);
    const uint64_t trained = gemm_calls() - before;
    EXPECT_TRUE(w.grad().defined());
    EXPECT_EQ(frozen, static_cast<uint64_t>(c.N * c.groups));  // dX only: one GEMM per (n, g)
    EXPECT_EQ(trained, 2 * frozen);
    EXPECT_EQ(max_diff(x.grad().to_vector(), gx_frozen), 0.0);
  }
}

// A frozen input (e.g. features) gets no gradient; depthwise weights still train.
TEST(Conv2d, FrozenInputAndFrozenWeightDepthwise) {
  Generator gen(4);
  Tensor x = Tensor::randn({2, 3, 6, 6}, gen);
  Tensor w = Tensor::randn({3, 1, 3, 3}, gen).set_requires_grad(true);
  Tensor b = Tensor::randn({3}, gen).set_requires_grad(true);
  ops::sum(ops::conv2d(x, w, b, 2, 1, 3)).backward();
  EXPECT_FALSE(x.grad().defined());
  EXPECT_TRUE(w.grad().defined());
  EXPECT_TRUE(b.grad().defined());

  // Only the bias trains: the kernel computes gbias from gy alone.
  Tensor w2 = Tensor::randn({5, 3, 3, 3}, gen);
  Tensor b2 = Tensor::randn({5}, gen).set_requires_grad(true);
  uint64_t before = gemm_calls();
  ops::sum(ops::conv2d(x, w2, b2, 2, 1, 1)).backward();
  EXPECT_EQ(gemm_calls() - before, 2u);  // the forward's two GEMMs (one per sample) only
  EXPECT_FALSE(w2.grad().defined());
  std::vector<double> gb = b2.grad().to_vector();
  for (double v : gb) EXPECT_DOUBLE_EQ(v, 2.0 * 3 * 3);  // N * Ho * Wo
}

TEST(Conv1d, PointwiseUsesOneGemmPerSample) {
  Generator gen(5);
  Tensor x = Tensor::randn({3, 16, 10}, gen);
  Tensor w = Tensor::randn({8, 16, 1}, gen);
  uint64_t before = gemm_calls();
  ops::conv1d(x, w);
  EXPECT_EQ(gemm_calls() - before, 3u);
  // Depthwise runs as direct loops, no GEMM.
  before = gemm_calls();
  ops::conv1d(x, Tensor::randn({16, 1, 31}, gen), Tensor(), 1, 15, 16);
  EXPECT_EQ(gemm_calls() - before, 0u);
}

TEST(Conv1d, Deterministic) {
  Generator gen(6);
  Tensor x = Tensor::randn({2, 32, 64}, gen).set_requires_grad(true);
  Tensor w = Tensor::randn({32, 1, 31}, gen).set_requires_grad(true);
  Tensor w2 = Tensor::randn({16, 8, 3}, gen).set_requires_grad(true);
  auto run = [&]() {
    x.zero_grad();
    w.zero_grad();
    w2.zero_grad();
    Tensor y = ops::conv1d(ops::conv1d(x, w, Tensor(), 1, 15, 32), w2, Tensor(), 2, 1, 4);
    ops::sum(ops::mul(y, y)).backward();
    return std::vector<Tensor>{y.detach(), x.grad(), w.grad(), w2.grad()};
  };
  std::vector<Tensor> a = run(), b = run();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(test::bitwise_equal(a[i], b[i])) << i;
}

TEST(Conv1d, BadInputs) {
  Tensor x = Tensor::zeros({2, 4, 10});
  Tensor w = Tensor::zeros({6, 4, 3});
  expect_error([&] { ops::conv1d(Tensor::zeros({4, 10}), w); }, "conv1d");
  expect_error([&] { ops::conv1d(Tensor::zeros({4, 10}), w); }, "[4, 10]");
  expect_error([&] { ops::conv1d(x, Tensor::zeros({6, 4})); }, "weight");
  expect_error([&] { ops::conv1d(x, Tensor::zeros({6, 3, 3})); }, "conv1d");   // channel mismatch
  expect_error([&] { ops::conv1d(x, Tensor::zeros({6, 1, 3}), Tensor(), 1, 0, 3); }, "groups");
  expect_error([&] { ops::conv1d(x, Tensor::zeros({5, 2, 3}), Tensor(), 1, 0, 2); }, "groups");
  expect_error([&] { ops::conv1d(x, Tensor::zeros({6, 4, 13})); }, "larger than the padded");
  expect_error([&] { ops::conv1d(x, Tensor::zeros({6, 4, 3}, DType::F64)); }, "conv1d");
  expect_error([&] { ops::conv1d(x, w, Tensor::zeros({5})); }, "bias");
  expect_error([&] { ops::conv1d(x, w, Tensor(), 0); }, "stride");
  expect_error([&] { ops::conv1d(Tensor::zeros({2, 4, 10}, DType::I64), w); }, "conv1d");
  // The padded input fits the kernel exactly: one output position, no error.
  EXPECT_EQ(ops::conv1d(x, Tensor::zeros({6, 4, 12}), Tensor(), 1, 1).shape(), (Shape{2, 6, 1}));
}

TEST(Conv2d, BadInputs) {
  Tensor x = Tensor::zeros({2, 4, 5, 5});
  Tensor w = Tensor::zeros({6, 4, 3, 3});
  expect_error([&] { ops::conv2d(Tensor::zeros({2, 4, 5}), w); }, "conv2d");
  expect_error([&] { ops::conv2d(x, Tensor::zeros({6, 4, 3})); }, "conv2d");
  expect_error([&] { ops::conv2d(x, Tensor::zeros({6, 2, 3, 3})); }, "input channels");
  expect_error([&] { ops::conv2d(x, Tensor::zeros({6, 4, 3, 3}), Tensor(), 1, 0, 3); }, "groups");
  expect_error([&] { ops::conv2d(x, Tensor::zeros({6, 4, 3, 8})); }, "larger than the padded");
  expect_error([&] { ops::conv2d(x, Tensor::zeros({6, 4, 3, 3}, DType::F64)); }, "dtype mismatch");
}
