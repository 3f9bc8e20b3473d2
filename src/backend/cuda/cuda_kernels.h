#pragma once
// Launchers for the hand-written kernels in cuda_*.cu. Plain pointers and sizes only: the
// Backend methods (ordinary C++ in cuda_*.cpp) do the Tensor bookkeeping, the .cu files only
// the arithmetic. Every launcher runs on the legacy default stream of the current device and
// throws asr::Error on a launch failure. T is float or double.
#include <cstddef>
#include <cstdint>

#include "asr/backend/backend.h"

namespace asr::cuda {

// Writes `elem_size` bytes of `pattern` (1, 2, 4 or 8) into each of n elements.
void launch_fill(void* dst, int64_t n, size_t elem_size, uint64_t pattern);

template <typename T>
void launch_unary(UnaryOp op, const T* x, T* y, int64_t n);

template <typename T>
void launch_binary(BinaryOp op, const T* a, const T* b, T* out, int64_t n);

template <typename T>
void launch_affine(const T* x, T alpha, T beta, T* y, int64_t n);

// C[b][i][j] *= beta (beta == 0 writes zeros) for a [batch, rows, cols] matrix with the given
// element strides; used where a GEMM has K == 0.
template <typename T>
void launch_scale_matrix(T* c, int64_t batch, int64_t rows, int64_t cols, int64_t batch_stride,
                         int64_t row_stride, T beta);

}  // namespace asr::cuda
