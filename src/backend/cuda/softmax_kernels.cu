// Row-wise softmax / log_softmax over the last dim and their backward passes: one block per row,
// max-subtracted like the CPU; block reductions in a fixed tree (deterministic).
#include <cmath>

#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_device.cuh"
#include "cuda_dispatch.h"

namespace asr::cuda {

namespace {

template <typename T>
__global__ void softmax_kernel(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  __shared__ T sh[kThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    T mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) mx = xr[j] > mx ? xr[j] : mx;
    mx = block_max(mx, sh);
    T s = 0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += m_exp(xr[j] - mx);
    s = block_sum(s, sh);
    if (log) {
      const T lse = mx + m_log(s);
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) yr[j] = xr[j] - lse;
    } else {
      const T inv = T(1) / s;
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) yr[j] = m_exp(xr[j] - mx) * inv;
    }
  }
}

template <typename T>
__global__ void softmax_backward_kernel(const T* y, const T* gy, T* gx, int64_t rows, int64_t n,
                                        bool log) {
  __shared__ T sh[kThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* yr = y + r * n;
    const T* gr = gy + r * n;
    T* o = gx + r * n;
    T s = 0;
    if (log) {  // gx = g - softmax * sum(g)
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += gr[j];
      s = block_sum(s, sh);
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) o[j] = gr[j] - m_exp(yr[j]) * s;
    } else {  // gx = y * (g - sum(g * y))
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += gr[j] * yr[j];
      s = block_sum(s, sh);
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) o[j] = yr[j] * (gr[j] - s);
    }
  }
}

// One block per row (b, h, i): the scores are formed on the fly from ac and the shifted bd, so
// the [B, H, T, T] score tensor is never written (the fused rel-pos attention path).
template <typename T>
__global__ void rel_pos_softmax_kernel(const T* ac, const T* bd, const bool* mask, T* y, int64_t rows,
                                       int64_t heads, int64_t t, T scale) {
  __shared__ T sh[kThreads];
  const int64_t p = 2 * t - 1;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t i = r % t, b = r / (heads * t);
    const T* ar = ac + r * t;
    const T* br = bd + r * p + (t - 1 - i);
    const bool* mr = mask ? mask + (b * t + i) * t : nullptr;
    T* yr = y + r * t;
    T mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < t; j += blockDim.x) {
      const T s = (mr && mr[j]) ? T(-10000) : (ar[j] + br[j]) * scale;
      yr[j] = s;  // staged in y: each thread re-reads only its own elements
      mx = s > mx ? s : mx;
    }
    mx = block_max(mx, sh);
    T sum = 0;
    for (int64_t j = threadIdx.x; j < t; j += blockDim.x) {
      const T e = m_exp(yr[j] - mx);
      yr[j] = e;
      sum += e;
    }
    sum = block_sum(sum, sh);
    const T inv = T(1) / sum;
    for (int64_t j = threadIdx.x; j < t; j += blockDim.x) yr[j] = (mr && mr[j]) ? T(0) : yr[j] * inv;
  }
}

void rows_of(const Tensor& t, int64_t& rows, int64_t& n) {
  n = t.dim() == 0 ? 1 : t.shape().back();
  rows = n == 0 ? 0 : t.numel() / n;
}

}  // namespace

void CudaBackend::softmax(const Tensor& x_c, bool log, Tensor& y) {
  int64_t rows, n;
  rows_of(x_c, rows, n);
  if (rows == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(x_c.dtype(), "softmax", [&](auto tag) {
    using T = decltype(tag);
    softmax_kernel<T><<<blocks_for(rows, 1), kThreads>>>(x_c.data<T>(), y.data<T>(), rows, n, log);
    CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::softmax_backward(const Tensor& y_c, const Tensor& gy_c, bool log, Tensor& gx) {
  int64_t rows, n;
  rows_of(y_c, rows, n);
  if (rows == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(y_c.dtype(), "softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    softmax_backward_kernel<T><<<blocks_for(rows, 1), kThreads>>>(y_c.data<T>(), gy_c.data<T>(),
                                                                 gx.data<T>(), rows, n, log);
    CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::rel_pos_softmax(const Tensor& ac_c, const Tensor& bd_c, const Tensor& mask_c, double scale,
                                  Tensor& y) {
  const int64_t heads = ac_c.size(1), t = ac_c.size(2);
  const int64_t rows = ac_c.size(0) * heads * t;
  if (rows == 0) return;
  DeviceGuard guard(device_);
  const bool* mask = mask_c.defined() ? mask_c.data<bool>() : nullptr;
  dispatch_float(ac_c.dtype(), "rel_pos_softmax", [&](auto tag) {
    using T = decltype(tag);
    rel_pos_softmax_kernel<T><<<blocks_for(rows, 1), kThreads>>>(ac_c.data<T>(), bd_c.data<T>(), mask,
                                                                y.data<T>(), rows, heads, t, static_cast<T>(scale));
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace asr::cuda
