// GLU over the last dim fused with a row mask (Backend::glu): one pass forward, one backward,
// rows split across threads. f32 takes sigmoid four lanes at a time (the SSE2 exp).
#include <cstring>

#include "asr/backend/pointwise_math.h"
#include "cpu_backend.h"
#include "cpu_common.h"
#include "cpu_vec_exp.h"

namespace asr::cpu {
namespace {

// s[j] = sigmoid(b[j]) for j < h.
void sigmoid_row(const float* b, float* s, int64_t h) {
  const __m128 one = _mm_set1_ps(1.0f);
  map_exp(b, s, h, -1.0f, [&](__m128 e, __m128) { return _mm_div_ps(one, _mm_add_ps(one, e)); });
}
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

}  // namespace

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
