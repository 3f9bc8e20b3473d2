#pragma once
// Small helpers for CPU kernels: dtype dispatch and strided iteration.
#include <omp.h>

#include <cstdint>
#include <type_traits>
#include <vector>

#include "asr/backend/backend.h"
#include "asr/core/tensor.h"

namespace asr::cpu {

template <typename T>
struct TypeTag { using type = T; };

// Calls fn(TypeTag<T>{}) with T = float or double; throws for other dtypes naming `op`.
template <typename Fn>
void dispatch_float(DType dt, const char* op, Fn&& fn) {
  switch (dt) {
    case DType::F32: fn(TypeTag<float>{}); return;
    case DType::F64: fn(TypeTag<double>{}); return;
    default: throw Error(str_cat(op, ": cpu kernel supports f32 and f64, got ", dtype_name(dt)));
  }
}

// Reads an integer index tensor element (I32 or I64), contiguous.
inline int64_t index_at(const Tensor& idx, int64_t i) {
  return idx.dtype() == DType::I64 ? idx.data<int64_t>()[i]
                                   : static_cast<int64_t>(idx.data<int32_t>()[i]);
}

// Visits every element of `shape` in row-major order, giving the element offset into each of N
// strided operands. The innermost dimension is run as a tight loop: fn(offsets[], inner_count,
// inner_strides[]) is called once per row.
template <size_t N, typename RowFn>
void for_each_row(const Shape& shape, const Shape* const (&strides)[N], RowFn&& fn) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  int64_t off[N] = {};
  int64_t inner_stride[N];
  if (nd == 0) {
    for (size_t k = 0; k < N; ++k) inner_stride[k] = 0;
    fn(off, int64_t{1}, inner_stride);
    return;
  }
  for (int64_t d : shape)
    if (d == 0) return;
  const int64_t inner = shape[nd - 1];
  for (size_t k = 0; k < N; ++k) inner_stride[k] = (*strides[k])[nd - 1];
  std::vector<int64_t> idx(static_cast<size_t>(nd), 0);
  while (true) {
    fn(off, inner, inner_stride);
    int64_t d = nd - 2;
    for (; d >= 0; --d) {
      idx[d]++;
      for (size_t k = 0; k < N; ++k) off[k] += (*strides[k])[d];
      if (idx[d] < shape[d]) break;
      for (size_t k = 0; k < N; ++k) off[k] -= (*strides[k])[d] * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

// for_each_row with the rows split across the OpenMP threads when the tensor holds more than
// `min_parallel` elements: each thread starts at its first row's offsets and walks its own range.
// fn must only write to elements of the row it is given (true of every pointwise kernel).
template <size_t N, typename RowFn>
void parallel_for_each_row(const Shape& shape, const Shape* const (&strides)[N], RowFn&& fn,
                           int64_t min_parallel = 32768) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  if (nd < 2 || total <= min_parallel || omp_get_max_threads() < 2 || omp_in_parallel()) {
    for_each_row<N>(shape, strides, fn);
    return;
  }
  const int64_t inner = shape[nd - 1];
  const int64_t rows = total / inner;
#pragma omp parallel
  {
    const int64_t nt = omp_get_num_threads(), tid = omp_get_thread_num();
    const int64_t r0 = rows * tid / nt, r1 = rows * (tid + 1) / nt;
    if (r0 < r1) {
      std::vector<int64_t> idx(static_cast<size_t>(nd - 1), 0);
      int64_t off[N] = {}, inner_stride[N];
      for (size_t k = 0; k < N; ++k) inner_stride[k] = (*strides[k])[nd - 1];
      for (int64_t d = nd - 2, r = r0; d >= 0; --d) {  // unravel r0 over the outer dims
        idx[d] = r % shape[d];
        r /= shape[d];
        for (size_t k = 0; k < N; ++k) off[k] += idx[d] * (*strides[k])[d];
      }
      for (int64_t r = r0; r < r1; ++r) {
        fn(off, inner, inner_stride);
        for (int64_t d = nd - 2; d >= 0; --d) {
          idx[d]++;
          for (size_t k = 0; k < N; ++k) off[k] += (*strides[k])[d];
          if (idx[d] < shape[d]) break;
          for (size_t k = 0; k < N; ++k) off[k] -= (*strides[k])[d] * shape[d];
          idx[d] = 0;
        }
      }
    }
  }
}

// Calls fn(std::integral_constant<UnaryOp, op>{}): each kernel loop is compiled once per op, so
// the per-element switch folds away and the loop can vectorise.
template <typename Fn>
void dispatch_unary(UnaryOp op, Fn&& fn) {
  switch (op) {
    case UnaryOp::Neg: return fn(std::integral_constant<UnaryOp, UnaryOp::Neg>{});
    case UnaryOp::Exp: return fn(std::integral_constant<UnaryOp, UnaryOp::Exp>{});
    case UnaryOp::Log: return fn(std::integral_constant<UnaryOp, UnaryOp::Log>{});
    case UnaryOp::Sqrt: return fn(std::integral_constant<UnaryOp, UnaryOp::Sqrt>{});
    case UnaryOp::Abs: return fn(std::integral_constant<UnaryOp, UnaryOp::Abs>{});
    case UnaryOp::Relu: return fn(std::integral_constant<UnaryOp, UnaryOp::Relu>{});
    case UnaryOp::Sigmoid: return fn(std::integral_constant<UnaryOp, UnaryOp::Sigmoid>{});
    case UnaryOp::Tanh: return fn(std::integral_constant<UnaryOp, UnaryOp::Tanh>{});
    case UnaryOp::Silu: return fn(std::integral_constant<UnaryOp, UnaryOp::Silu>{});
    case UnaryOp::Gelu: return fn(std::integral_constant<UnaryOp, UnaryOp::Gelu>{});
  }
  throw Error("unary: unknown op");
}

template <typename Fn>
void dispatch_binary(BinaryOp op, Fn&& fn) {
  switch (op) {
    case BinaryOp::Add: return fn(std::integral_constant<BinaryOp, BinaryOp::Add>{});
    case BinaryOp::Sub: return fn(std::integral_constant<BinaryOp, BinaryOp::Sub>{});
    case BinaryOp::Mul: return fn(std::integral_constant<BinaryOp, BinaryOp::Mul>{});
    case BinaryOp::Div: return fn(std::integral_constant<BinaryOp, BinaryOp::Div>{});
  }
  throw Error("binary: unknown op");
}

}  // namespace asr::cpu
