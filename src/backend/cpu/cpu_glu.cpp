// Fused activations: GLU over the last dim with a row mask (Backend::glu) and silu after a bias
// (Backend::bias_silu). One pass forward, one backward, rows split across threads; f32 takes the
// sigmoid eight or four lanes at a time (vec::, AVX2 or SSE2).
#include <cstring>

#include "asr/backend/pointwise_math.h"
#include "cpu_backend.h"
#include "cpu_common.h"
#include "cpu_vec_exp.h"

namespace asr::cpu {
namespace {

// s[j] = sigmoid(b[j]) for j < h.
void sigmoid_row(const float* b, float* s, int64_t h) { vec::exp_map(lanes::ExpMap::Sigmoid, b, s, h); }
void sigmoid_row(const double* b, double* s, int64_t h) {
  for (int64_t j = 0; j < h; ++j) s[j] = 1.0 / (1.0 + pointwise::m_exp(-b[j]));
}

template <typename T>
void glu_rows(const Tensor& x_c, const Tensor& row_mask_c, const Tensor* gy_c, Tensor& out) {
  const int64_t h = x_c.shape().back() / 2, rows = h == 0 ? 0 : x_c.numel() / (2 * h);
  const bool* mask = row_mask_c.defined() ? row_mask_c.data<bool>() : nullptr;
  const T* px = x_c.data<T>();
  const T* pg = gy_c ? gy_c->data<T>() : nullptr;
  T* po = out.data<T>();
  const int64_t out_row = gy_c ? 2 * h : h;
#pragma omp parallel for schedule(static) if (rows * h > 16384)
  for (int64_t r = 0; r < rows; ++r) {
    T* o = po + r * out_row;
    if (mask && mask[r]) {
      std::memset(o, 0, static_cast<size_t>(out_row) * sizeof(T));
      continue;
    }
    const T* a = px + r * 2 * h;
    const T* b = a + h;
    if (!gy_c) {  // y = a * sigmoid(b): the sigmoid lands in y, then scaled in place
      sigmoid_row(b, o, h);
      for (int64_t j = 0; j < h; ++j) o[j] = a[j] * o[j];
      continue;
    }
    // ga = g * s, gb = (g * a) * (s * (1 - s)), as the composed mul + sigmoid backward order it.
    const T* g = pg + r * h;
    T* ga = o;
    T* gb = o + h;
    sigmoid_row(b, ga, h);
    for (int64_t j = 0; j < h; ++j) {
      const T sj = ga[j];
      gb[j] = (g[j] * a[j]) * (sj * (T(1) - sj));
      ga[j] = g[j] * sj;
    }
  }
}

// Row r of y = silu(x + bias) (forward) or gx = gy * silu'(x + bias) (gy given).
void bias_silu_row(const float* x, const float* b, const float* gy, float* out, int64_t n) {
  vec::bias_silu(x, b, gy, out, n);
}
void bias_silu_row(const double* x, const double* b, const double* gy, double* out, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const double z = x[j] + b[j], s = 1.0 / (1.0 + pointwise::m_exp(-z));
    out[j] = gy ? gy[j] * s * (1.0 + z * (1.0 - s)) : z * s;
  }
}

template <typename T>
void bias_silu_rows(const Tensor& x_c, const Tensor& bias, const Tensor* gy_c, Tensor& out) {
  const int64_t n = x_c.shape().back(), rows = n == 0 ? 0 : x_c.numel() / n;
  const T* px = x_c.data<T>();
  const T* pb = bias.data<T>();
  const T* pg = gy_c ? gy_c->data<T>() : nullptr;
  T* po = out.data<T>();
#pragma omp parallel for schedule(static) if (rows * n > 16384)
  for (int64_t r = 0; r < rows; ++r) bias_silu_row(px + r * n, pb, pg ? pg + r * n : nullptr, po + r * n, n);
}

}  // namespace

void CpuBackend::bias_silu(const Tensor& x_c, const Tensor& bias, Tensor& y) {
  dispatch_float(x_c.dtype(), "bias_silu", [&](auto tag) {
    using T = typename decltype(tag)::type;
    bias_silu_rows<T>(x_c, bias, nullptr, y);
  });
}

void CpuBackend::bias_silu_backward(const Tensor& x_c, const Tensor& bias, const Tensor& gy_c, Tensor& gx) {
  dispatch_float(x_c.dtype(), "bias_silu_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    bias_silu_rows<T>(x_c, bias, &gy_c, gx);
  });
}

void CpuBackend::glu(const Tensor& x_c, const Tensor& row_mask_c, Tensor& y) {
  dispatch_float(x_c.dtype(), "glu", [&](auto tag) {
    using T = typename decltype(tag)::type;
    glu_rows<T>(x_c, row_mask_c, nullptr, y);
  });
}

void CpuBackend::glu_backward(const Tensor& x_c, const Tensor& row_mask_c, const Tensor& gy_c, Tensor& gx) {
  dispatch_float(x_c.dtype(), "glu_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    glu_rows<T>(x_c, row_mask_c, &gy_c, gx);
  });
}

}  // namespace asr::cpu
