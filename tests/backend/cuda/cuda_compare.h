#pragma once
// Runs one differentiable function on CPU inputs and on copies of them on the GPU, then compares
// the outputs and the gradients of the scalar loss sum(y * R) (R random, the same on both) with
// respect to every floating input. Integer/bool inputs are moved to the GPU but get no gradient.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "asr/backend/backend.h"
#include "asr/core/generator.h"
#include "asr/ops/ops.h"
#include "cuda_test_util.h"

namespace asr::cudatest {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

inline const Device kCuda = Device::cuda(0);

struct Tol {
  double rtol, atol;
};

// Tolerances for f32 / f64 results of short sums (a few ulp, CUDA libm within 2 ulp).
inline Tol tol_for(DType dt, double f32 = 1e-5, double f64 = 1e-11) {
  return dt == DType::F32 ? Tol{f32, f32} : Tol{f64, f64};
}

// `grad` selects which inputs require grad (default: every floating input).
inline void expect_matches_cpu(const Fn& fn, const std::vector<Tensor>& values, Tol tol,
                               const std::string& what, std::vector<bool> grad = {}) {
  SCOPED_TRACE(what);
  if (grad.empty())
    for (const Tensor& v : values) grad.push_back(is_floating(v.dtype()));
  std::vector<Tensor> cin, gin;
  for (size_t i = 0; i < values.size(); ++i) {
    Tensor c = values[i].detach().clone().detach();
    Tensor g = values[i].detach().to(kCuda).detach();
    if (grad[i]) {
      c.set_requires_grad(true);
      g.set_requires_grad(true);
    }
    cin.push_back(c);
    gin.push_back(g);
  }
  Tensor yc = fn(cin), yg = fn(gin);
  ASSERT_EQ(yg.device(), kCuda);
  EXPECT_TRUE(all_close(yg, yc, tol.rtol, tol.atol)) << "forward";
  bool any = false;
  for (bool b : grad) any = any || b;
  if (!any) return;
  Generator gen(12345);
  Tensor r = Tensor::randn(yc.shape(), gen, 1.0, yc.dtype());
  ops::sum(ops::mul(yc, r)).backward();
  ops::sum(ops::mul(yg, r.to(kCuda))).backward();
  for (size_t i = 0; i < values.size(); ++i) {
    if (!grad[i]) continue;
    ASSERT_TRUE(cin[i].grad().defined() && gin[i].grad().defined()) << "input " << i;
    EXPECT_EQ(gin[i].grad().device(), kCuda);
    EXPECT_TRUE(all_close(gin[i].grad(), cin[i].grad(), tol.rtol, tol.atol)) << "grad of input "
                                                                             << i;
  }
}

// The function's output on the GPU, twice: must be bitwise equal (and so must the gradients).
inline void expect_deterministic(const Fn& fn, const std::vector<Tensor>& values,
                                 const std::string& what) {
  SCOPED_TRACE(what);
  auto run = [&] {
    std::vector<Tensor> gin;
    for (const Tensor& v : values) {
      Tensor g = v.detach().to(kCuda).detach();
      if (is_floating(v.dtype())) g.set_requires_grad(true);
      gin.push_back(g);
    }
    Tensor y = fn(gin);
    std::vector<std::vector<double>> out{y.to_vector()};
    Generator gen(777);
    ops::sum(ops::mul(y, Tensor::randn(y.shape(), gen, 1.0, y.dtype()).to(kCuda))).backward();
    for (const Tensor& g : gin)
      if (g.grad().defined()) out.push_back(g.grad().to_vector());
    return out;
  };
  const auto a = run(), b = run();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "result " << i;
}

}  // namespace asr::cudatest
