#pragma once
// Device-side helpers shared by the .cu files: launch sizing, strided offsets, block reductions
// in a fixed order (bitwise deterministic), and the float/double math overloads. Every kernel
// that uses block_sum / block_max runs with blockDim.x == kThreads.
#include <cuda_runtime.h>

#include <cstdint>

#include "asr/backend/backend.h"
#include "cuda_check.h"
#include "cuda_layout.h"

namespace asr::cuda {

constexpr int kThreads = 256;  // a power of two: the tree reductions below rely on it

// Blocks for a grid-stride loop over n items (at least 1, at most 65536).
inline unsigned blocks_for(int64_t n, int64_t per_block = kThreads) {
  int64_t b = (n + per_block - 1) / per_block;
  if (b > 65536) b = 65536;
  if (b < 1) b = 1;
  return static_cast<unsigned>(b);
}

// Element offsets of linear (row-major) index i in each of the K operands.
template <int K>
__device__ __forceinline__ void strided_offsets(const Layout<K>& l, int64_t i, int64_t (&off)[K]) {
#pragma unroll
  for (int k = 0; k < K; ++k) off[k] = 0;
  for (int d = l.nd - 1; d >= 0; --d) {
    const int64_t c = i % l.size[d];
    i /= l.size[d];
#pragma unroll
    for (int k = 0; k < K; ++k) off[k] += c * l.stride[k][d];
  }
}

#define ASR_GRID_STRIDE(i, n)                                                        \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n);          \
       i += int64_t(gridDim.x) * blockDim.x)

// Sum of v over the block, the same tree every time; every thread gets the result. sh has
// kThreads entries; all threads of the block must call it.
template <typename A>
__device__ A block_sum(A v, A* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] = sh[threadIdx.x] + sh[threadIdx.x + s];
    __syncthreads();
  }
  const A r = sh[0];
  __syncthreads();  // sh may be reused right after
  return r;
}

template <typename A>
__device__ A block_max(A v, A* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      const A o = sh[threadIdx.x + s];
      if (o > sh[threadIdx.x]) sh[threadIdx.x] = o;
    }
    __syncthreads();
  }
  const A r = sh[0];
  __syncthreads();
  return r;
}

// Precise libm overloads (not the fast intrinsics), as the CPU uses.
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

// d op(x) / dx given x and y = op(x): the CPU backend's formulas.
template <typename T>
__device__ __forceinline__ T unary_derivative(UnaryOp op, T x, T y) {
  switch (op) {
    case UnaryOp::Neg: return T(-1);
    case UnaryOp::Exp: return y;
    case UnaryOp::Log: return T(1) / x;
    case UnaryOp::Sqrt: return T(0.5) / y;
    case UnaryOp::Abs: return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
    case UnaryOp::Relu: return x > T(0) ? T(1) : T(0);
    case UnaryOp::Sigmoid: return y * (T(1) - y);
    case UnaryOp::Tanh: return T(1) - y * y;
    case UnaryOp::Silu: {
      const T s = T(1) / (T(1) + d_exp(-x));
      return s * (T(1) + x * (T(1) - s));
    }
    case UnaryOp::Gelu: {
      const T cdf = T(0.5) * (T(1) + d_erf(x * T(0.70710678118654752440)));
      const T pdf = d_exp(T(-0.5) * x * x) * T(0.39894228040143267794);
      return cdf + x * pdf;
    }
  }
  return T(0);
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

}  // namespace asr::cuda
