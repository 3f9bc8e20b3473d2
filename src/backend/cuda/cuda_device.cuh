#pragma once
// Device-side helpers shared by the .cu files: launch sizing, strided offsets, block reductions
// in a fixed order (bitwise deterministic), and the float/double math overloads. Every kernel
// that uses block_sum / block_max runs with blockDim.x == kThreads.
#include <cuda_runtime.h>

#include <cstdint>

#include "asr/backend/backend.h"
#include "asr/backend/pointwise_math.h"
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

// The pointwise maths, shared with the CPU backend.
using pointwise::apply_binary;
using pointwise::apply_unary;
using pointwise::unary_derivative;
using pointwise::m_exp;
using pointwise::m_log;
using pointwise::m_sqrt;

}  // namespace asr::cuda
