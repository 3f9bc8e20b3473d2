// Host side of the pointwise kernels: contiguous operands of one shape take the flat kernels,
// anything else (strided views, stride-0 broadcasts) the Layout-driven strided kernels.
#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_dispatch.h"
#include "cuda_kernels.h"

namespace asr::cuda {

namespace {

bool all_flat(const Tensor& out, std::initializer_list<const Tensor*> ins) {
  if (!out.is_contiguous()) return false;
  for (const Tensor* t : ins)
    if (!t->is_contiguous() || t->shape() != out.shape()) return false;
  return true;
}

void check_shapes(const char* op, const Tensor& out, std::initializer_list<const Tensor*> ins) {
  for (const Tensor* t : ins)
    ASR_CHECK(t->shape() == out.shape(), op, "operand ", t->describe(), " does not match output ",
              out.describe());
}

}  // namespace

void CudaBackend::unary(UnaryOp op, const Tensor& x, Tensor& y) {
  check_shapes("unary", y, {&x});
  if (y.numel() == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(x.dtype(), "unary", [&](auto tag) {
    using T = decltype(tag);
    if (all_flat(y, {&x})) {
      launch_unary<T>(op, x.data<T>(), y.data<T>(), y.numel());
    } else {
      const Shape* st[2] = {&x.strides(), &y.strides()};
      launch_unary_strided<T>(op, x.data<T>(), y.data<T>(), make_layout<2>(y.shape(), st, "unary"),
                              y.numel());
    }
  });
}

void CudaBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& gy,
                                 Tensor& gx) {
  check_shapes("unary_backward", gx, {&x, &y, &gy});
  if (gx.numel() == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(x.dtype(), "unary_backward", [&](auto tag) {
    using T = decltype(tag);
    const Shape* st[4] = {&x.strides(), &y.strides(), &gy.strides(), &gx.strides()};
    launch_unary_backward<T>(op, x.data<T>(), y.data<T>(), gy.data<T>(), gx.data<T>(),
                             make_layout<4>(gx.shape(), st, "unary_backward"), gx.numel());
  });
}

void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  check_shapes("binary", out, {&a, &b});
  if (out.numel() == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(out.dtype(), "binary", [&](auto tag) {
    using T = decltype(tag);
    if (all_flat(out, {&a, &b})) {
      launch_binary<T>(op, a.data<T>(), b.data<T>(), out.data<T>(), out.numel());
    } else {
      const Shape* st[3] = {&a.strides(), &b.strides(), &out.strides()};
      launch_binary_strided<T>(op, a.data<T>(), b.data<T>(), out.data<T>(),
                               make_layout<3>(out.shape(), st, "binary"), out.numel());
    }
  });
}

void CudaBackend::affine(const Tensor& x, double alpha, double beta, Tensor& y) {
  check_shapes("affine", y, {&x});
  if (y.numel() == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(x.dtype(), "affine", [&](auto tag) {
    using T = decltype(tag);
    const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
    if (all_flat(y, {&x})) {
      launch_affine<T>(x.data<T>(), a, b, y.data<T>(), y.numel());
    } else {
      const Shape* st[2] = {&x.strides(), &y.strides()};
      launch_affine_strided<T>(x.data<T>(), a, b, y.data<T>(),
                               make_layout<2>(y.shape(), st, "affine"), y.numel());
    }
  });
}

void CudaBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  check_shapes("where", out, {&cond, &a, &b});
  ASR_CHECK(cond.dtype() == DType::Bool, "where", "condition must be bool, got ", cond.describe());
  if (out.numel() == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(out.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    const Shape* st[4] = {&cond.strides(), &a.strides(), &b.strides(), &out.strides()};
    launch_where<T>(cond.data<uint8_t>(), a.data<T>(), b.data<T>(), out.data<T>(),
                    make_layout<4>(out.shape(), st, "where"), out.numel());
  });
}

}  // namespace asr::cuda
