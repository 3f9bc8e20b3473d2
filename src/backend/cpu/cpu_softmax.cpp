// Row-wise softmax / log_softmax over the last dim, max-subtracted for stability.
#include <cmath>

#include "cpu_backend.h"
#include "cpu_common.h"
#include "cpu_vec_exp.h"

namespace asr::cpu {

void CpuBackend::softmax(const Tensor& x_c, bool log, Tensor& y) {
  const int64_t n = x_c.dim() == 0 ? 1 : x_c.shape().back();
  const int64_t rows = n == 0 ? 0 : x_c.numel() / n;
  dispatch_float(x_c.dtype(), "softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x_c.data<T>();
    T* py = y.data<T>();
#pragma omp parallel for schedule(static) if (rows * n > 16384)
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = px + r * n;
      T* yr = py + r * n;
      T mx = xr[0];
      for (int64_t i = 1; i < n; ++i) mx = std::max(mx, xr[i]);
      // e^(x - max) once, into y (f32: four lanes at a time), then scaled or replaced.
      const T s = exp_shifted_sum(xr, mx, yr, n);
      if (log) {
        const T lse = mx + std::log(s);
        for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] - lse;
      } else {
        const T inv = T(1) / s;
        for (int64_t i = 0; i < n; ++i) yr[i] *= inv;
      }
    }
  });
}

void CpuBackend::softmax_backward(const Tensor& y_c, const Tensor& gy_c, bool log, Tensor& gx) {
  const int64_t n = y_c.dim() == 0 ? 1 : y_c.shape().back();
  const int64_t rows = n == 0 ? 0 : y_c.numel() / n;
  dispatch_float(y_c.dtype(), "softmax_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* py = y_c.data<T>();
    const T* pg = gy_c.data<T>();
    T* po = gx.data<T>();
#pragma omp parallel for schedule(static) if (rows * n > 16384)
    for (int64_t r = 0; r < rows; ++r) {
      const T* yr = py + r * n;
      const T* gr = pg + r * n;
      T* o = po + r * n;
      if (log) {  // gx = g - softmax * sum(g)
        T s = 0;
        for (int64_t i = 0; i < n; ++i) s += gr[i];
        for (int64_t i = 0; i < n; ++i) o[i] = gr[i] - std::exp(yr[i]) * s;
      } else {  // gx = y * (g - sum(g * y))
        T s = 0;
        for (int64_t i = 0; i < n; ++i) s += gr[i] * yr[i];
        for (int64_t i = 0; i < n; ++i) o[i] = yr[i] * (gr[i] - s);
      }
    }
  });
}

}  // namespace asr::cpu
