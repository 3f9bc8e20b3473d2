// Host side of the pointwise kernels: layout/dtype checks, then the launchers in
// elementwise_kernels.cu. Broadcast (stride-0) or strided operands come with the CUDA issue.
#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_kernels.h"

namespace asr::cuda {

namespace {

// Runs f(float tag) or f(double tag) for the dtype; other dtypes are not implemented.
template <typename F>
void dispatch_f32_f64(DType t, const char* op, const std::string& what, F&& f) {
  if (t == DType::F32) {
    f(float{});
  } else if (t == DType::F64) {
    f(double{});
  } else {
    not_implemented(op, str_cat("dtype ", dtype_name(t), " (", what, ")"));
  }
}

void require_contiguous(const char* op, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (!t->is_contiguous()) not_implemented(op, str_cat("strided operand ", t->describe()));
}

}  // namespace

void CudaBackend::unary(UnaryOp op, const Tensor& x, Tensor& y) {
  require_contiguous("unary", {&x, &y});
  DeviceGuard guard(device_);
  dispatch_f32_f64(x.dtype(), "unary", x.describe(), [&](auto tag) {
    using T = decltype(tag);
    launch_unary<T>(op, x.data<T>(), y.data<T>(), x.numel());
  });
}

void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  if (a.shape() != b.shape() || a.shape() != out.shape())
    not_implemented("binary", str_cat("broadcast operands ", a.describe(), " and ", b.describe()));
  // expand() of a size-1 dim gives stride 0, which is not contiguous: broadcasts land here too.
  require_contiguous("binary", {&a, &b, &out});
  DeviceGuard guard(device_);
  dispatch_f32_f64(out.dtype(), "binary", out.describe(), [&](auto tag) {
    using T = decltype(tag);
    launch_binary<T>(op, a.data<T>(), b.data<T>(), out.data<T>(), out.numel());
  });
}

void CudaBackend::affine(const Tensor& x, double alpha, double beta, Tensor& y) {
  require_contiguous("affine", {&x, &y});
  DeviceGuard guard(device_);
  dispatch_f32_f64(x.dtype(), "affine", x.describe(), [&](auto tag) {
    using T = decltype(tag);
    launch_affine<T>(x.data<T>(), static_cast<T>(alpha), static_cast<T>(beta), y.data<T>(),
                     x.numel());
  });
}

}  // namespace asr::cuda
