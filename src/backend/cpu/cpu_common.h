#pragma once
// Small helpers for CPU kernels: dtype dispatch and strided iteration.
#include <cstdint>
#include <vector>

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

}  // namespace asr::cpu
