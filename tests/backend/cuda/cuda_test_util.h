#pragma once
// Helpers for the CUDA-vs-CPU tests: random host tensors and element-wise comparisons with a
// tolerance scaled by magnitude (the GPU's libm differs from glibc by a few ulp).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "asr/core/generator.h"
#include "asr/core/tensor.h"

namespace asr::cudatest {

inline Tensor uniform(const Shape& shape, Generator& gen, double lo, double hi, DType dt) {
  return Tensor::rand(shape, gen, lo, hi, dt);
}

// Fails (with the worst index) unless |got - want| <= atol + rtol * |want| everywhere.
inline ::testing::AssertionResult all_close(const std::vector<double>& got,
                                            const std::vector<double>& want, double rtol,
                                            double atol) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "size " << got.size() << " vs " << want.size();
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = atol + rtol * std::fabs(want[i]);
    const bool same = got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i]));
    if (!same && !(std::fabs(got[i] - want[i]) <= tol))  // `same` covers matching infinities
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << got[i] << ", want " << want[i] << " (tol " << tol
             << ")";
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult all_close(const Tensor& got, const Tensor& want, double rtol,
                                            double atol) {
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << got.describe() << " vs " << want.describe();
  return all_close(got.to(Device::cpu()).to_vector(), want.to(Device::cpu()).to_vector(), rtol,
                   atol);
}

// Tolerances per dtype for results of a few flops each.
inline double rtol_for(DType t) { return t == DType::F32 ? 2e-6 : 1e-13; }

}  // namespace asr::cudatest
