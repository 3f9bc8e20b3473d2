#pragma once
// Host-side helpers for the CUDA Backend methods: dtype dispatch and optional-tensor access.
#include "asr/core/tensor.h"

namespace asr::cuda {

// Calls f(float{}) or f(double{}) for the dtype; other dtypes throw naming `op`.
template <typename F>
void dispatch_float(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::F32: f(float{}); return;
    case DType::F64: f(double{}); return;
    default:
      throw Error(str_cat(op, ": CUDA kernel supports f32 and f64, got ", dtype_name(t)));
  }
}

// Device pointer of an optional tensor (nullptr when undefined) and its 1-D stride.
template <typename T>
T* opt_data(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
inline int64_t opt_stride0(const Tensor& t) {
  return t.defined() && t.dim() >= 1 ? t.strides()[0] : 0;
}

}  // namespace asr::cuda
