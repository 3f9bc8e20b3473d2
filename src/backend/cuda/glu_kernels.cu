// Fused activations: GLU over the last dim with a row mask (Backend::glu) and silu after a bias
// (Backend::bias_silu). One thread per output element, forward and backward, no reductions
// (deterministic).
#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_device.cuh"
#include "cuda_dispatch.h"

namespace asr::cuda {

namespace {

template <typename T>
__global__ void glu_kernel(const T* x, const bool* mask, T* y, int64_t rows, int64_t h) {
  const int64_t n = rows * h;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / h, j = i - r * h;
    if (mask && mask[r]) {
      y[i] = T(0);
      continue;
    }
    const T* xr = x + r * 2 * h;
    const T s = T(1) / (T(1) + m_exp(-xr[h + j]));
    y[i] = xr[j] * s;
  }
}

template <typename T>
__global__ void glu_backward_kernel(const T* x, const bool* mask, const T* gy, T* gx, int64_t rows, int64_t h) {
  const int64_t n = rows * h;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / h, j = i - r * h;
    T* o = gx + r * 2 * h;
    if (mask && mask[r]) {
      o[j] = T(0);
      o[h + j] = T(0);
      continue;
    }
    const T* xr = x + r * 2 * h;
    const T s = T(1) / (T(1) + m_exp(-xr[h + j]));
    const T g = gy[i];
    o[h + j] = (g * xr[j]) * (s * (T(1) - s));
    o[j] = g * s;
  }
}

template <typename T>
__global__ void bias_silu_kernel(const T* x, const T* b, const T* gy, T* out, int64_t total, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const T z = x[i] + b[i % n];
    const T s = T(1) / (T(1) + m_exp(-z));
    out[i] = gy ? gy[i] * s * (T(1) + z * (T(1) - s)) : z * s;
  }
}

int64_t glu_rows(const Tensor& x_c, int64_t& h) {
  h = x_c.shape().back() / 2;
  return h == 0 ? 0 : x_c.numel() / (2 * h);
}

}  // namespace

void CudaBackend::bias_silu(const Tensor& x_c, const Tensor& bias, Tensor& y) {
  const int64_t total = x_c.numel(), n = x_c.shape().back();
  if (total == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(x_c.dtype(), "bias_silu", [&](auto tag) {
    using T = decltype(tag);
    bias_silu_kernel<T><<<blocks_for(total), kThreads>>>(x_c.data<T>(), bias.data<T>(), nullptr, y.data<T>(), total, n);
    CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::bias_silu_backward(const Tensor& x_c, const Tensor& bias, const Tensor& gy_c, Tensor& gx) {
  const int64_t total = x_c.numel(), n = x_c.shape().back();
  if (total == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(x_c.dtype(), "bias_silu_backward", [&](auto tag) {
    using T = decltype(tag);
    bias_silu_kernel<T><<<blocks_for(total), kThreads>>>(x_c.data<T>(), bias.data<T>(), gy_c.data<T>(), gx.data<T>(),
                                                        total, n);
    CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::glu(const Tensor& x_c, const Tensor& row_mask_c, Tensor& y) {
  int64_t h;
  const int64_t rows = glu_rows(x_c, h);
  if (rows == 0) return;
  DeviceGuard guard(device_);
  const bool* mask = row_mask_c.defined() ? row_mask_c.data<bool>() : nullptr;
  dispatch_float(x_c.dtype(), "glu", [&](auto tag) {
    using T = decltype(tag);
    glu_kernel<T><<<blocks_for(rows * h), kThreads>>>(x_c.data<T>(), mask, y.data<T>(), rows, h);
    CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::glu_backward(const Tensor& x_c, const Tensor& row_mask_c, const Tensor& gy_c, Tensor& gx) {
  int64_t h;
  const int64_t rows = glu_rows(x_c, h);
  if (rows == 0) return;
  DeviceGuard guard(device_);
  const bool* mask = row_mask_c.defined() ? row_mask_c.data<bool>() : nullptr;
  dispatch_float(x_c.dtype(), "glu_backward", [&](auto tag) {
    using T = decltype(tag);
    glu_backward_kernel<T><<<blocks_for(rows * h), kThreads>>>(x_c.data<T>(), mask, gy_c.data<T>(), gx.data<T>(),
                                                              rows, h);
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace asr::cuda
