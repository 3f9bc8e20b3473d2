// Pointwise kernels on contiguous buffers: grid-stride loops, one output element per step, so
// every result is computed independently (bitwise deterministic). The math mirrors the CPU
// backend's formulas (exact erf GELU, precise exp/log rather than the fast intrinsics).
#include <cuda_runtime.h>

#include "cuda_check.h"
#include "cuda_kernels.h"

namespace asr::cuda {

namespace {

constexpr int kThreads = 256;

// Enough blocks to fill the GPU; the grid-stride loop covers any n with 64-bit indices.
unsigned blocks_for(int64_t n) {
  int64_t b = (n + kThreads - 1) / kThreads;
  if (b > 65536) b = 65536;
  if (b < 1) b = 1;
  return static_cast<unsigned>(b);
}

__device__ __forceinline__ float d_exp(float x) { return expf(x); }
__device__ __forceinline__ double d_exp(double x) { return exp(x); }
__device__ __forceinline__ float d_log(float x) { return logf(x); }
__device__ __forceinline__ double d_log(double x) { return log(x); }
__device__ __forceinline__ float d_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double d_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float d_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double d_abs(double x) { return fabs(x); }
__device__ __forceinline__ float d_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double d_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float d_erf(float x) { return erff(x); }
__device__ __forceinline__ double d_erf(double x) { return erf(x); }

template <typename T>
__device__ __forceinline__ T apply_unary(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Exp: return d_exp(x);
    case UnaryOp::Log: return d_log(x);
    case UnaryOp::Sqrt: return d_sqrt(x);
    case UnaryOp::Abs: return d_abs(x);
    case UnaryOp::Relu: return x > T(0) ? x : T(0);
    case UnaryOp::Sigmoid: return T(1) / (T(1) + d_exp(-x));
    case UnaryOp::Tanh: return d_tanh(x);
    case UnaryOp::Silu: return x / (T(1) + d_exp(-x));
    case UnaryOp::Gelu: return T(0.5) * x * (T(1) + d_erf(x * T(0.70710678118654752440)));
  }
  return x;
}

template <typename T>
__device__ __forceinline__ T apply_binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
  }
  return a;
}

template <typename E>
__global__ void fill_kernel(E* dst, int64_t n, E value) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = value;
}

// `op` is uniform across the grid, so the switch never diverges within a warp.
template <typename T>
__global__ void unary_kernel(UnaryOp op, const T* __restrict__ x, T* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = apply_unary(op, x[i]);
}

// No __restrict__: out may alias a or b (in-place use by later callers).
template <typename T>
__global__ void binary_kernel(BinaryOp op, const T* a, const T* b, T* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = apply_binary(op, a[i], b[i]);
}

template <typename T>
__global__ void affine_kernel(const T* x, T alpha, T beta, T* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = alpha * x[i] + beta;
}

template <typename T>
__global__ void scale_matrix_kernel(T* c, int64_t batch, int64_t rows, int64_t cols,
                                    int64_t batch_stride, int64_t row_stride, T beta) {
  const int64_t n = batch * rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = i % cols, r = (i / cols) % rows, b = i / (cols * rows);
    T* p = c + b * batch_stride + r * row_stride + j;
    *p = beta == T(0) ? T(0) : beta * *p;  // beta == 0 must not propagate NaN from C
  }
}

}  // namespace

void launch_fill(void* dst, int64_t n, size_t elem_size, uint64_t pattern) {
  if (n <= 0) return;
  switch (elem_size) {
    case 1: fill_kernel<<<blocks_for(n), kThreads>>>(static_cast<uint8_t*>(dst), n, static_cast<uint8_t>(pattern)); break;
    case 2: fill_kernel<<<blocks_for(n), kThreads>>>(static_cast<uint16_t*>(dst), n, static_cast<uint16_t>(pattern)); break;
    case 4: fill_kernel<<<blocks_for(n), kThreads>>>(static_cast<uint32_t*>(dst), n, static_cast<uint32_t>(pattern)); break;
    case 8: fill_kernel<<<blocks_for(n), kThreads>>>(static_cast<uint64_t*>(dst), n, pattern); break;
    default: throw Error(str_cat("fill: unsupported element size ", elem_size, " on CUDA"));
  }
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void launch_unary(UnaryOp op, const T* x, T* y, int64_t n) {
  if (n <= 0) return;
  unary_kernel<T><<<blocks_for(n), kThreads>>>(op, x, y, n);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void launch_binary(BinaryOp op, const T* a, const T* b, T* out, int64_t n) {
  if (n <= 0) return;
  binary_kernel<T><<<blocks_for(n), kThreads>>>(op, a, b, out, n);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void launch_affine(const T* x, T alpha, T beta, T* y, int64_t n) {
  if (n <= 0) return;
  affine_kernel<T><<<blocks_for(n), kThreads>>>(x, alpha, beta, y, n);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void launch_scale_matrix(T* c, int64_t batch, int64_t rows, int64_t cols, int64_t batch_stride,
                         int64_t row_stride, T beta) {
  const int64_t n = batch * rows * cols;
  if (n <= 0) return;
  scale_matrix_kernel<T><<<blocks_for(n), kThreads>>>(c, batch, rows, cols, batch_stride,
                                                      row_stride, beta);
  CUDA_CHECK_LAUNCH();
}

template void launch_unary<float>(UnaryOp, const float*, float*, int64_t);
template void launch_unary<double>(UnaryOp, const double*, double*, int64_t);
template void launch_binary<float>(BinaryOp, const float*, const float*, float*, int64_t);
template void launch_binary<double>(BinaryOp, const double*, const double*, double*, int64_t);
template void launch_affine<float>(const float*, float, float, float*, int64_t);
template void launch_affine<double>(const double*, double, double, double*, int64_t);
template void launch_scale_matrix<float>(float*, int64_t, int64_t, int64_t, int64_t, int64_t, float);
template void launch_scale_matrix<double>(double*, int64_t, int64_t, int64_t, int64_t, int64_t, double);

}  // namespace asr::cuda
