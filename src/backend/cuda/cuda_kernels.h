#pragma once
// Launchers for the pointwise and copy kernels (elementwise_kernels.cu, copy_kernels.cu). Plain
// pointers, sizes and Layouts only: the Backend methods in cuda_memory.cpp / cuda_pointwise.cpp
// do the Tensor bookkeeping. (The other kernel families keep their Backend methods next to
// their kernels in the .cu file.) Every launcher runs on the legacy default stream of the
// current device and throws asr::Error on a launch failure. T is float or double.
#include <cstddef>
#include <cstdint>

#include "asr/backend/backend.h"
#include "cuda_layout.h"

namespace asr::cuda {

// Writes `elem_size` bytes of `pattern` (1, 2, 4 or 8) into each of n elements.
void launch_fill(void* dst, int64_t n, size_t elem_size, uint64_t pattern);
void launch_fill_strided(void* dst, size_t elem_size, uint64_t pattern, const Layout<1>& l,
                         int64_t n);

// dst[off1] = convert(src[off0]) for the n elements of l (operands: src, dst), through double
// exactly as the CPU backend converts.
void launch_copy(const void* src, DType src_type, void* dst, DType dst_type, const Layout<2>& l,
                 int64_t n);

template <typename T>
void launch_unary(UnaryOp op, const T* x, T* y, int64_t n);
template <typename T>
void launch_unary_strided(UnaryOp op, const T* x, T* y, const Layout<2>& l, int64_t n);
// Operands: x, y, gy, gx.
template <typename T>
void launch_unary_backward(UnaryOp op, const T* x, const T* y, const T* gy, T* gx,
                           const Layout<4>& l, int64_t n);

template <typename T>
void launch_binary(BinaryOp op, const T* a, const T* b, T* out, int64_t n);
template <typename T>
void launch_binary_strided(BinaryOp op, const T* a, const T* b, T* out, const Layout<3>& l,
                           int64_t n);

template <typename T>
void launch_affine(const T* x, T alpha, T beta, T* y, int64_t n);
template <typename T>
void launch_affine_strided(const T* x, T alpha, T beta, T* y, const Layout<2>& l, int64_t n);

// Operands: cond (bool bytes), a, b, out.
template <typename T>
void launch_where(const uint8_t* cond, const T* a, const T* b, T* out, const Layout<4>& l,
                  int64_t n);

// C[b][i][j] *= beta (beta == 0 writes zeros) for a [batch, rows, cols] matrix with the given
// element strides; used where a GEMM has K == 0.
template <typename T>
void launch_scale_matrix(T* c, int64_t batch, int64_t rows, int64_t cols, int64_t batch_stride,
                         int64_t row_stride, T beta);

}  // namespace asr::cuda
