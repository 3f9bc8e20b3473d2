// Row-wise softmax / log_softmax over the last dim, max-subtracted for stability.
#include <algorithm>
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

void CpuBackend::rel_pos_softmax(const Tensor& ac_c, const Tensor& bd_c, const Tensor& mask_c, double scale,
                                 Tensor& y) {
  const int64_t B = ac_c.size(0), H = ac_c.size(1), T = ac_c.size(2), P = 2 * T - 1;
  const int64_t rows = B * H * T;
  const bool* pm = mask_c.defined() ? mask_c.data<bool>() : nullptr;
  dispatch_float(ac_c.dtype(), "rel_pos_softmax", [&](auto tag) {
    using T_ = typename decltype(tag)::type;
    const T_* pa = ac_c.data<T_>();
    const T_* pb = bd_c.data<T_>();
    T_* py = y.data<T_>();
    const T_ sc = static_cast<T_>(scale);
#pragma omp parallel for schedule(static) if (rows * T > 16384)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = r % T, b = r / (H * T);
      const T_* ar = pa + r * T;
      const T_* br = pb + r * P + (T - 1 - i);  // rel_shift: column j reads bd[.., T-1-i+j]
      const bool* mr = pm ? pm + (b * T + i) * T : nullptr;
      T_* yr = py + r * T;
      // The scores in the unfused order ((ac + bd) * scale, then the mask), so the result is the
      // same as add -> scale -> masked_fill -> softmax -> masked_fill, bit for bit.
      for (int64_t j = 0; j < T; ++j) yr[j] = (mr && mr[j]) ? T_(-10000) : (ar[j] + br[j]) * sc;
      T_ mx = yr[0];
      for (int64_t j = 1; j < T; ++j) mx = std::max(mx, yr[j]);
      const T_ inv = T_(1) / exp_shifted_sum(yr, mx, yr, T);
      for (int64_t j = 0; j < T; ++j) yr[j] = (mr && mr[j]) ? T_(0) : yr[j] * inv;
    }
  });
}

}  // namespace asr::cpu
