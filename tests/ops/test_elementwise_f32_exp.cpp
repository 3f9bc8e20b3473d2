// The f32 CPU kernels of the exp-based ops (exp, sigmoid, silu and its gradient, softmax,
// log_softmax) compute e^x four lanes at a time (src/backend/cpu/cpu_vec_exp.h). Checked against
// the same formulas in f64 over the whole f32 range, at lengths that exercise the vector body,
// the padded tail and the multi-threaded split, with the special values libm's expf gives.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "asr/ops/ops.h"

using namespace asr;

namespace {

// n values spread over [-110, 95] (beyond both ends of expf's finite range) plus the specials.
std::vector<double> sweep(int64_t n) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(-110.0 + 205.0 * static_cast<double>(i) / static_cast<double>(n));
  for (double s : {0.0, -0.0, 1e-30, -1e-30, 88.72, 88.73, -87.3, -103.9, -150.0, 1000.0, -1000.0})
    v.push_back(s);
  return v;
}

// |got - want| within 4 f32 ulps of want, or 1e-35 absolute: near the bottom of the range f32
// itself overflows (silu(-89.7) = -89.7 / (1 + e^89.7) is -0 in f32, as with libm's expf).
void expect_close(const std::vector<double>& got, const std::vector<double>& want, const std::vector<double>& x,
                  const char* what) {
  ASSERT_EQ(got.size(), want.size());
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const float w = static_cast<float>(want[i]);
    if (std::isinf(w) || std::isnan(w)) {
      EXPECT_EQ(std::isinf(got[i]), std::isinf(w)) << what << " at x = " << x[i];
      EXPECT_EQ(std::isnan(got[i]), std::isnan(w)) << what << " at x = " << x[i];
      continue;
    }
    const double ulp = std::fabs(std::nextafter(w, std::numeric_limits<float>::infinity()) - w);
    const double tol = std::max(4 * ulp, 1e-35);
    if (std::fabs(got[i] - want[i]) > tol && reported++ < 5)
      ADD_FAILURE() << what << " at x = " << x[i] << ": " << got[i] << " vs " << want[i];
  }
}

}  // namespace

TEST(ElementwiseF32Exp, ExpSigmoidSiluMatchF64AcrossTheRange) {
  for (int64_t n : {int64_t{3}, int64_t{4}, int64_t{37}, int64_t{70001}}) {
    std::vector<double> v = sweep(n);
    v.push_back(std::numeric_limits<double>::quiet_NaN());
    v.push_back(std::numeric_limits<double>::infinity());
    v.push_back(-std::numeric_limits<double>::infinity());
    const int64_t m = static_cast<int64_t>(v.size());
    std::vector<double> xf;  // the inputs as f32 sees them
    for (double t : v) xf.push_back(static_cast<float>(t));
    const Tensor x32 = Tensor::from_vector(v, {m}, DType::F32);
    const Tensor x64 = Tensor::from_vector(xf, {m}, DType::F64);
    expect_close(ops::exp(x32).to_vector(), ops::exp(x64).to_vector(), xf, "exp");
    expect_close(ops::sigmoid(x32).to_vector(), ops::sigmoid(x64).to_vector(), xf, "sigmoid");
    expect_close(ops::silu(x32).to_vector(), ops::silu(x64).to_vector(), xf, "silu");
  }
}

TEST(ElementwiseF32Exp, SiluGradientMatchesF64) {
  for (int64_t n : {int64_t{5}, int64_t{40000}}) {
    std::vector<double> v;
    for (int64_t i = 0; i < n; ++i) v.push_back(-30.0 + 60.0 * static_cast<double>(i) / static_cast<double>(n));
    std::vector<double> g;
    for (int64_t i = 0; i < n; ++i) g.push_back(static_cast<float>(std::cos(0.1 * static_cast<double>(i))));
    std::vector<double> grads[2];
    for (int k = 0; k < 2; ++k) {
      Tensor x = Tensor::from_vector(v, {n}, k == 0 ? DType::F32 : DType::F64);
      x.set_requires_grad(true);
      Tensor y = ops::silu(x);
      ops::sum(ops::mul(y, Tensor::from_vector(g, {n}, x.dtype()))).backward();
      grads[k] = x.grad().to_vector();
    }
    for (int64_t i = 0; i < n; ++i)
      EXPECT_NEAR(grads[0][static_cast<size_t>(i)], grads[1][static_cast<size_t>(i)],
                  2e-6 * (1 + std::fabs(grads[1][static_cast<size_t>(i)])))
          << "x = " << v[static_cast<size_t>(i)];
  }
}

TEST(ElementwiseF32Exp, SoftmaxAndLogSoftmaxMatchF64) {
  // Rows of 1, 3, 129 (the CTC vocabulary) and 400 elements; large offsets test the max shift.
  for (int64_t cols : {int64_t{1}, int64_t{3}, int64_t{129}, int64_t{400}}) {
    const int64_t rows = 37;
    std::vector<double> v;
    for (int64_t i = 0; i < rows * cols; ++i)
      v.push_back(static_cast<float>(20.0 * std::sin(0.37 * static_cast<double>(i)) + (i % 7 == 0 ? 500.0 : 0.0)));
    const Tensor x32 = Tensor::from_vector(v, {rows, cols}, DType::F32);
    const Tensor x64 = Tensor::from_vector(v, {rows, cols}, DType::F64);
    const std::vector<double> s32 = ops::softmax(x32, -1).to_vector(), s64 = ops::softmax(x64, -1).to_vector();
    const std::vector<double> l32 = ops::log_softmax(x32, -1).to_vector(), l64 = ops::log_softmax(x64, -1).to_vector();
    for (size_t i = 0; i < v.size(); ++i) {
      EXPECT_NEAR(s32[i], s64[i], 1e-6 * (1 + s64[i])) << "softmax cols " << cols << " at " << i;
      // x - lse cancels: the f32 error scales with |x| (up to ~520 here), not with the result.
      EXPECT_NEAR(l32[i], l64[i], 4e-7 * (1 + std::fabs(v[i]) + std::fabs(l64[i])))
          << "log_softmax cols " << cols << " at " << i;
    }
  }
}
