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

}  // namespace asr::cuda
