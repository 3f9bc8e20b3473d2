// Layer norm (over the last dim; one block per row) and batch norm (per channel of [N, C, L];
// one block per channel). Statistics accumulate in double with the CPU's formulas. Parameter
// gradients of layer norm (sums over rows) run in two passes: per-chunk partial sums, then a
// fixed-order sum over chunks. No atomics anywhere: bitwise reproducible.
#include <algorithm>
#include <cmath>

#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_device.cuh"
#include "cuda_dispatch.h"

namespace asr::cuda {

namespace {

// Rows per chunk in the layer-norm parameter reduction (pass 1), at least.
constexpr int64_t kRowsPerChunk = 64;
constexpr int64_t kMaxChunks = 4096;

template <typename T>
__global__ void layer_norm_kernel(const T* x, const T* w, int64_t ws, const T* b, int64_t bs,
                                  double eps, T* y, T* mean, T* rstd, int64_t rows, int64_t n) {
  __shared__ double sh[kThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n;
    double s = 0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += xr[j];
    s = block_sum(s, sh);
    const double mu = s / static_cast<double>(n);
    double v = 0;  // two-pass: no cancellation for rows with a large mean
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const double d = xr[j] - mu;
      v += d * d;
    }
    v = block_sum(v, sh);
    const double rs = 1.0 / sqrt(v / static_cast<double>(n) + eps);
    if (threadIdx.x == 0) {
      mean[r] = static_cast<T>(mu);
      rstd[r] = static_cast<T>(rs);
    }
    T* yr = y + r * n;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      double h = (xr[j] - mu) * rs;
      if (w) h *= w[j * ws];
      if (b) h += b[j * bs];
      yr[j] = static_cast<T>(h);
    }
  }
}

// gx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = gy * weight.
template <typename T>
__global__ void layer_norm_gx_kernel(const T* gy, const T* x, const T* w, int64_t ws,
                                     const T* mean, const T* rstd, T* gx, int64_t rows, int64_t n) {
  __shared__ double sh[kThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n;
    const T* gr = gy + r * n;
    const double mu = mean[r], rs = rstd[r];
    double sg = 0, sgx = 0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const double g = w ? gr[j] * static_cast<double>(w[j * ws]) : gr[j];
      sg += g;
      sgx += g * (xr[j] - mu) * rs;
    }
    sg = block_sum(sg, sh);
    sgx = block_sum(sgx, sh);
    const double mg = sg / static_cast<double>(n), mgx = sgx / static_cast<double>(n);
    T* gxr = gx + r * n;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const double g = w ? gr[j] * static_cast<double>(w[j * ws]) : gr[j];
      const double xh = (xr[j] - mu) * rs;
      gxr[j] = static_cast<T>(rs * (g - mg - xh * mgx));
    }
  }
}

// Pass 1: partial sums over the rows of chunk blockIdx.y for column j (one thread per column).
template <typename T>
__global__ void layer_norm_param_partial_kernel(const T* gy, const T* x, const T* mean,
                                                const T* rstd, int64_t rows, int64_t n,
                                                int64_t rows_per_chunk, double* pw, double* pb) {
  const int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  const int64_t c = blockIdx.y;
  const int64_t r0 = c * rows_per_chunk;
  const int64_t r1 = r0 + rows_per_chunk < rows ? r0 + rows_per_chunk : rows;
  double aw = 0, ab = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const T g = gy[r * n + j];
    const double mu = mean[r], rs = rstd[r];
    aw += g * (x[r * n + j] - mu) * rs;
    ab += g;
  }
  pw[c * n + j] = aw;
  pb[c * n + j] = ab;
}

// Pass 2: sum the chunks in order.
template <typename T>
__global__ void layer_norm_param_final_kernel(const double* pw, const double* pb, int64_t chunks,
                                              int64_t n, T* gw, int64_t gws, T* gb, int64_t gbs) {
  ASR_GRID_STRIDE(j, n) {
    double aw = 0, ab = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      aw += pw[c * n + j];
      ab += pb[c * n + j];
    }
    if (gw) gw[j * gws] = static_cast<T>(aw);
    if (gb) gb[j * gbs] = static_cast<T>(ab);
  }
}

// Element i of channel c in [N, C, L]: sample i / L, position i % L.
__device__ __forceinline__ int64_t bn_index(int64_t i, int64_t c, int64_t C, int64_t L) {
  return ((i / L) * C + c) * L + (i % L);
}

template <typename T>
__global__ void batch_norm_kernel(const T* x, const T* w, int64_t ws, const T* b, int64_t bs,
                                  T* rm, int64_t rms, T* rv, int64_t rvs, bool training,
                                  double momentum, double eps, T* y, T* mean, T* invstd,
                                  int64_t N, int64_t C, int64_t L) {
  __shared__ double sh[kThreads];
  const int64_t M = N * L;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double mu, is;
    if (training) {
      double s = 0;
      for (int64_t i = threadIdx.x; i < M; i += blockDim.x) s += x[bn_index(i, c, C, L)];
      s = block_sum(s, sh);
      mu = s / static_cast<double>(M);
      double v = 0;
      for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
        const double d = x[bn_index(i, c, C, L)] - mu;
        v += d * d;
      }
      v = block_sum(v, sh);
      is = 1.0 / sqrt(v / static_cast<double>(M) + eps);
      // Running stats follow torch: the variance estimate is unbiased (M - 1).
      if (threadIdx.x == 0) {
        if (rm) rm[c * rms] = static_cast<T>((1.0 - momentum) * rm[c * rms] + momentum * mu);
        if (rv) {
          const double unbiased = M > 1 ? v / static_cast<double>(M - 1) : INFINITY;
          rv[c * rvs] = static_cast<T>((1.0 - momentum) * rv[c * rvs] + momentum * unbiased);
        }
      }
    } else {
      mu = rm[c * rms];
      is = 1.0 / sqrt(static_cast<double>(rv[c * rvs]) + eps);
    }
    if (threadIdx.x == 0) {
      mean[c] = static_cast<T>(mu);
      invstd[c] = static_cast<T>(is);
    }
    const double scale = w ? is * static_cast<double>(w[c * ws]) : is;
    const double shift = b ? static_cast<double>(b[c * bs]) : 0.0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
      const int64_t k = bn_index(i, c, C, L);
      y[k] = static_cast<T>((x[k] - mu) * scale + shift);
    }
  }
}

template <typename T>
__global__ void batch_norm_backward_kernel(const T* gy, const T* x, const T* w, int64_t ws,
                                           const T* mean, const T* invstd, bool training, T* gx,
                                           T* gw, int64_t gws, T* gb, int64_t gbs, int64_t N,
                                           int64_t C, int64_t L) {
  __shared__ double sh[kThreads];
  const int64_t M = N * L;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const double mu = mean[c], is = invstd[c];
    double sg = 0, sgx = 0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
      const int64_t k = bn_index(i, c, C, L);
      sg += gy[k];
      sgx += gy[k] * (x[k] - mu) * is;
    }
    sg = block_sum(sg, sh);
    sgx = block_sum(sgx, sh);
    if (threadIdx.x == 0) {
      if (gw) gw[c * gws] = static_cast<T>(sgx);
      if (gb) gb[c * gbs] = static_cast<T>(sg);
    }
    if (!gx) continue;  // uniform across the block
    const double k = w ? is * static_cast<double>(w[c * ws]) : is;
    // Training: the batch statistics depend on x, giving the two correction terms.
    const double dm = static_cast<double>(M);
    const double mg = training ? sg / dm : 0.0, mgx = training ? sgx / dm : 0.0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
      const int64_t e = bn_index(i, c, C, L);
      const double xh = (x[e] - mu) * is;
      gx[e] = static_cast<T>(k * (gy[e] - mg - xh * mgx));
    }
  }
}

void rows_of(const Tensor& t, int64_t& rows, int64_t& n) {
  n = t.dim() == 0 ? 1 : t.shape().back();
  rows = n == 0 ? 0 : t.numel() / n;
}

}  // namespace

void CudaBackend::layer_norm(const Tensor& x_c, const Tensor& weight, const Tensor& bias,
                             double eps, Tensor& y, Tensor& mean, Tensor& rstd) {
  int64_t rows, n;
  rows_of(x_c, rows, n);
  if (rows == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(x_c.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    layer_norm_kernel<T><<<blocks_for(rows, 1), kThreads>>>(
        x_c.data<T>(), opt_data<const T>(weight), opt_stride0(weight), opt_data<const T>(bias),
        opt_stride0(bias), eps, y.data<T>(), mean.data<T>(), rstd.data<T>(), rows, n);
    CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::layer_norm_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& weight,
                                      const Tensor& mean, const Tensor& rstd, Tensor& gx,
                                      Tensor& gweight, Tensor& gbias) {
  int64_t rows, n;
  rows_of(x_c, rows, n);
  if (n == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(x_c.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    if (gx.defined() && rows > 0) {
      layer_norm_gx_kernel<T><<<blocks_for(rows, 1), kThreads>>>(
          gy_c.data<T>(), x_c.data<T>(), opt_data<const T>(weight), opt_stride0(weight),
          mean.data<T>(), rstd.data<T>(), gx.data<T>(), rows, n);
      CUDA_CHECK_LAUNCH();
    }
    if (!gweight.defined() && !gbias.defined()) return;
    int64_t per = kRowsPerChunk;
    if ((rows + per - 1) / per > kMaxChunks) per = (rows + kMaxChunks - 1) / kMaxChunks;
    const int64_t chunks = std::max<int64_t>(1, (rows + per - 1) / per);
    Tensor part = Tensor::empty({2, chunks, n}, DType::F64, Device::cuda(device_));
    double* pw = part.data<double>();
    double* pb = pw + chunks * n;
    const dim3 grid(static_cast<unsigned>((n + kThreads - 1) / kThreads),
                    static_cast<unsigned>(chunks));
    layer_norm_param_partial_kernel<T><<<grid, kThreads>>>(gy_c.data<T>(), x_c.data<T>(),
                                                           mean.data<T>(), rstd.data<T>(), rows,
                                                           n, per, pw, pb);
    CUDA_CHECK_LAUNCH();
    layer_norm_param_final_kernel<T><<<blocks_for(n), kThreads>>>(
        pw, pb, chunks, n, opt_data<T>(gweight), opt_stride0(gweight), opt_data<T>(gbias),
        opt_stride0(gbias));
    CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::batch_norm(const Tensor& x_c, const Tensor& weight, const Tensor& bias,
                             Tensor& running_mean, Tensor& running_var, bool training,
                             double momentum, double eps, Tensor& y, Tensor& mean,
                             Tensor& invstd) {
  ASR_CHECK(x_c.dim() == 3, "batch_norm", "input must be [N, C, L], got ", x_c.describe());
  const int64_t N = x_c.shape()[0], C = x_c.shape()[1], L = x_c.shape()[2];
  ASR_CHECK(training || (running_mean.defined() && running_var.defined()), "batch_norm",
            "inference needs running stats");
  if (C == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(x_c.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    batch_norm_kernel<T><<<blocks_for(C, 1), kThreads>>>(
        x_c.data<T>(), opt_data<const T>(weight), opt_stride0(weight), opt_data<const T>(bias),
        opt_stride0(bias), opt_data<T>(running_mean), opt_stride0(running_mean),
        opt_data<T>(running_var), opt_stride0(running_var), training, momentum, eps, y.data<T>(),
        mean.data<T>(), invstd.data<T>(), N, C, L);
    CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::batch_norm_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& weight,
                                      const Tensor& mean, const Tensor& invstd, bool training,
                                      Tensor& gx, Tensor& gweight, Tensor& gbias) {
  ASR_CHECK(x_c.dim() == 3, "batch_norm_backward", "input must be [N, C, L], got ",
            x_c.describe());
  const int64_t N = x_c.shape()[0], C = x_c.shape()[1], L = x_c.shape()[2];
  if (C == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(x_c.dtype(), "batch_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    batch_norm_backward_kernel<T><<<blocks_for(C, 1), kThreads>>>(
        gy_c.data<T>(), x_c.data<T>(), opt_data<const T>(weight), opt_stride0(weight),
        mean.data<T>(), invstd.data<T>(), training, opt_data<T>(gx), opt_data<T>(gweight),
        opt_stride0(gweight), opt_data<T>(gbias), opt_stride0(gbias), N, C, L);
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace asr::cuda
