#pragma once
// Helpers shared by the op implementations (not part of the public API).
#include "asr/autograd/node.h"
#include "asr/backend/backend.h"
#include "asr/core/tensor.h"

namespace asr::ops::detail {

inline Backend& be(const Tensor& t) { return backend_for(t.device()); }

// Throws unless every defined tensor is on `ref`'s device.
void check_same_device(const char* op, std::initializer_list<const Tensor*> ts);
// Throws unless x is F32 or F64; and every other defined tensor has x's dtype.
void check_float_same_dtype(const char* op, std::initializer_list<const Tensor*> ts);
// Reduces a gradient of broadcast shape back to `shape` (sums broadcast dims).
Tensor sum_to_shape(const Tensor& grad, const Shape& shape);
// A new contiguous tensor like x (same shape/dtype/device), uninitialised.
inline Tensor empty_like(const Tensor& x) { return Tensor::empty(x.shape(), x.dtype(), x.device()); }
inline Tensor zeros_like(const Tensor& x) { return Tensor::zeros(x.shape(), x.dtype(), x.device()); }
std::string shapes_str(std::initializer_list<const Tensor*> ts);  // "f32[2, 3] and f32[4]"

}  // namespace asr::ops::detail
