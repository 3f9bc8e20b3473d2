#include "op_utils.h"

namespace asr::ops::detail {

void check_same_device(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* ref = nullptr;
  for (const Tensor* t : ts) {
    if (!t || !t->defined()) continue;
    if (!ref) { ref = t; continue; }
    ASR_CHECK(t->device() == ref->device(), op, "device mismatch: ", shapes_str(ts));
  }
}

void check_float_same_dtype(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* ref = nullptr;
  for (const Tensor* t : ts) {
    if (!t || !t->defined()) continue;
    if (!ref) {
      ref = t;
      ASR_CHECK(t->dtype() == DType::F32 || t->dtype() == DType::F64, op,
                "expects f32 or f64 tensors, got ", shapes_str(ts));
      continue;
    }
    ASR_CHECK(t->dtype() == ref->dtype(), op, "dtype mismatch: ", shapes_str(ts));
  }
  check_same_device(op, ts);
}

std::string shapes_str(std::initializer_list<const Tensor*> ts) {
  std::string out;
  for (const Tensor* t : ts) {
    if (!t || !t->defined()) continue;
    if (!out.empty()) out += " and ";
    out += t->describe();
  }
  return out;
}

Tensor sum_to_shape(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  // Keep-dim target of grad's rank, then drop leading dims.
  size_t lead = grad.shape().size() - shape.size();
  Shape keep(grad.shape().size(), 1);
  for (size_t i = 0; i < shape.size(); ++i) keep[lead + i] = shape[i];
  Tensor out = Tensor::empty(keep, grad.dtype(), grad.device());
  be(grad).sum_to(grad, out);
  return out.view(shape);
}

}  // namespace asr::ops::detail
