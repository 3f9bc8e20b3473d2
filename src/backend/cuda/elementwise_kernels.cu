// Pointwise kernels: grid-stride loops, one output element per step, so every result is computed
// independently (bitwise deterministic). Contiguous launchers index directly; the strided ones
// take a Layout (broadcast operands have stride 0). The math mirrors the CPU backend's formulas
// (exact erf GELU, precise exp/log rather than the fast intrinsics).
#include <cuda_runtime.h>

#include "cuda_check.h"
#include "cuda_device.cuh"
#include "cuda_kernels.h"

namespace asr::cuda {

namespace {

template <typename E>
__global__ void fill_kernel(E* dst, int64_t n, E value) {
  ASR_GRID_STRIDE(i, n) dst[i] = value;
}

template <typename E>
__global__ void fill_strided_kernel(E* dst, Layout<1> l, int64_t n, E value) {
  ASR_GRID_STRIDE(i, n) {
    int64_t off[1];
    strided_offsets(l, i, off);
    dst[off[0]] = value;
  }
}

// `op` is uniform across the grid, so the switch never diverges within a warp.
template <typename T>
__global__ void unary_kernel(UnaryOp op, const T* __restrict__ x, T* __restrict__ y, int64_t n) {
  ASR_GRID_STRIDE(i, n) y[i] = apply_unary(op, x[i]);
}

template <typename T>
__global__ void unary_strided_kernel(UnaryOp op, const T* x, T* y, Layout<2> l, int64_t n) {
  ASR_GRID_STRIDE(i, n) {
    int64_t off[2];
    strided_offsets(l, i, off);
    y[off[1]] = apply_unary(op, x[off[0]]);
  }
}

template <typename T>
__global__ void unary_backward_kernel(UnaryOp op, const T* x, const T* y, const T* gy, T* gx,
                                      Layout<4> l, int64_t n) {
  ASR_GRID_STRIDE(i, n) {
    int64_t off[4];
    strided_offsets(l, i, off);
    gx[off[3]] = gy[off[2]] * unary_derivative(op, x[off[0]], y[off[1]]);
  }
}

// No __restrict__: out may alias a or b (in-place use by later callers).
template <typename T>
__global__ void binary_kernel(BinaryOp op, const T* a, const T* b, T* out, int64_t n) {
  ASR_GRID_STRIDE(i, n) out[i] = apply_binary(op, a[i], b[i]);
}

template <typename T>
__global__ void binary_strided_kernel(BinaryOp op, const T* a, const T* b, T* out, Layout<3> l,
                                      int64_t n) {
  ASR_GRID_STRIDE(i, n) {
    int64_t off[3];
    strided_offsets(l, i, off);
    out[off[2]] = apply_binary(op, a[off[0]], b[off[1]]);
  }
}

template <typename T>
__global__ void affine_kernel(const T* x, T alpha, T beta, T* y, int64_t n) {
  ASR_GRID_STRIDE(i, n) y[i] = alpha * x[i] + beta;
}

template <typename T>
__global__ void affine_strided_kernel(const T* x, T alpha, T beta, T* y, Layout<2> l, int64_t n) {
  ASR_GRID_STRIDE(i, n) {
    int64_t off[2];
    strided_offsets(l, i, off);
    y[off[1]] = alpha * x[off[0]] + beta;
  }
}

template <typename T>
__global__ void where_kernel(const uint8_t* cond, const T* a, const T* b, T* out, Layout<4> l,
                             int64_t n) {
  ASR_GRID_STRIDE(i, n) {
    int64_t off[4];
    strided_offsets(l, i, off);
    out[off[3]] = cond[off[0]] ? a[off[1]] : b[off[2]];
  }
}

template <typename T>
__global__ void scale_matrix_kernel(T* c, int64_t batch, int64_t rows, int64_t cols,
                                    int64_t batch_stride, int64_t row_stride, T beta) {
  const int64_t n = batch * rows * cols;
  ASR_GRID_STRIDE(i, n) {
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

void launch_fill_strided(void* dst, size_t elem_size, uint64_t pattern, const Layout<1>& l,
                         int64_t n) {
  if (n <= 0) return;
  const unsigned g = blocks_for(n);
  switch (elem_size) {
    case 1: fill_strided_kernel<<<g, kThreads>>>(static_cast<uint8_t*>(dst), l, n, static_cast<uint8_t>(pattern)); break;
    case 2: fill_strided_kernel<<<g, kThreads>>>(static_cast<uint16_t*>(dst), l, n, static_cast<uint16_t>(pattern)); break;
    case 4: fill_strided_kernel<<<g, kThreads>>>(static_cast<uint32_t*>(dst), l, n, static_cast<uint32_t>(pattern)); break;
    case 8: fill_strided_kernel<<<g, kThreads>>>(static_cast<uint64_t*>(dst), l, n, pattern); break;
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
void launch_unary_strided(UnaryOp op, const T* x, T* y, const Layout<2>& l, int64_t n) {
  if (n <= 0) return;
  unary_strided_kernel<T><<<blocks_for(n), kThreads>>>(op, x, y, l, n);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void launch_unary_backward(UnaryOp op, const T* x, const T* y, const T* gy, T* gx,
                           const Layout<4>& l, int64_t n) {
  if (n <= 0) return;
  unary_backward_kernel<T><<<blocks_for(n), kThreads>>>(op, x, y, gy, gx, l, n);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void launch_binary(BinaryOp op, const T* a, const T* b, T* out, int64_t n) {
  if (n <= 0) return;
  binary_kernel<T><<<blocks_for(n), kThreads>>>(op, a, b, out, n);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void launch_binary_strided(BinaryOp op, const T* a, const T* b, T* out, const Layout<3>& l,
                           int64_t n) {
  if (n <= 0) return;
  binary_strided_kernel<T><<<blocks_for(n), kThreads>>>(op, a, b, out, l, n);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void launch_affine(const T* x, T alpha, T beta, T* y, int64_t n) {
  if (n <= 0) return;
  affine_kernel<T><<<blocks_for(n), kThreads>>>(x, alpha, beta, y, n);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void launch_affine_strided(const T* x, T alpha, T beta, T* y, const Layout<2>& l, int64_t n) {
  if (n <= 0) return;
  affine_strided_kernel<T><<<blocks_for(n), kThreads>>>(x, alpha, beta, y, l, n);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void launch_where(const uint8_t* cond, const T* a, const T* b, T* out, const Layout<4>& l,
                  int64_t n) {
  if (n <= 0) return;
  where_kernel<T><<<blocks_for(n), kThreads>>>(cond, a, b, out, l, n);
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

#define ASR_INSTANTIATE(T)                                                                      \
  template void launch_unary<T>(UnaryOp, const T*, T*, int64_t);                                \
  template void launch_unary_strided<T>(UnaryOp, const T*, T*, const Layout<2>&, int64_t);      \
  template void launch_unary_backward<T>(UnaryOp, const T*, const T*, const T*, T*,             \
                                         const Layout<4>&, int64_t);                            \
  template void launch_binary<T>(BinaryOp, const T*, const T*, T*, int64_t);                    \
  template void launch_binary_strided<T>(BinaryOp, const T*, const T*, T*, const Layout<3>&,    \
                                         int64_t);                                              \
  template void launch_affine<T>(const T*, T, T, T*, int64_t);                                  \
  template void launch_affine_strided<T>(const T*, T, T, T*, const Layout<2>&, int64_t);        \
  template void launch_where<T>(const uint8_t*, const T*, const T*, T*, const Layout<4>&,       \
                                int64_t);                                                       \
  template void launch_scale_matrix<T>(T*, int64_t, int64_t, int64_t, int64_t, int64_t, T);
ASR_INSTANTIATE(float)
ASR_INSTANTIATE(double)
#undef ASR_INSTANTIATE

}  // namespace asr::cuda
