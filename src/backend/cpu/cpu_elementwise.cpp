// Pointwise kernels over arbitrary strides (broadcast operands arrive as stride-0 views).
#include "asr/backend/pointwise_math.h"
#include "cpu_backend.h"
#include "cpu_common.h"

namespace asr::cpu {

using pointwise::apply_binary;
using pointwise::apply_unary;
using pointwise::unary_derivative;

void CpuBackend::unary(UnaryOp op, const Tensor& x, Tensor& y) {
  dispatch_float(x.dtype(), "unary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    if (x.is_contiguous()) {
      const int64_t n = x.numel();
#pragma omp parallel for schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) py[i] = apply_unary(op, px[i]);
      return;
    }
    const Shape* st[2] = {&x.strides(), &y.strides()};
    for_each_row<2>(x.shape(), st, [&](const int64_t* off, int64_t n, const int64_t* inc) {
      for (int64_t i = 0; i < n; ++i) py[off[1] + i * inc[1]] = apply_unary(op, px[off[0] + i * inc[0]]);
    });
  });
}

void CpuBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& gy,
                                Tensor& gx) {
  dispatch_float(x.dtype(), "unary_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    const T* py = y.data<T>();
    const T* pg = gy.data<T>();
    T* po = gx.data<T>();
    const Shape* st[4] = {&x.strides(), &y.strides(), &gy.strides(), &gx.strides()};
    for_each_row<4>(x.shape(), st, [&](const int64_t* off, int64_t n, const int64_t* inc) {
      for (int64_t i = 0; i < n; ++i)
        po[off[3] + i * inc[3]] = pg[off[2] + i * inc[2]] *
                                  unary_derivative(op, px[off[0] + i * inc[0]], py[off[1] + i * inc[1]]);
    });
  });
}

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  dispatch_float(out.dtype(), "binary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    if (a.is_contiguous() && b.is_contiguous() && a.shape() == b.shape()) {
      const int64_t n = out.numel();
#pragma omp parallel for schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) po[i] = apply_binary(op, pa[i], pb[i]);
      return;
    }
    const Shape* st[3] = {&a.strides(), &b.strides(), &out.strides()};
    for_each_row<3>(out.shape(), st, [&](const int64_t* off, int64_t n, const int64_t* inc) {
      for (int64_t i = 0; i < n; ++i)
        po[off[2] + i * inc[2]] = apply_binary(op, pa[off[0] + i * inc[0]], pb[off[1] + i * inc[1]]);
    });
  });
}

void CpuBackend::affine(const Tensor& x, double alpha, double beta, Tensor& y) {
  dispatch_float(x.dtype(), "affine", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
    const Shape* st[2] = {&x.strides(), &y.strides()};
    for_each_row<2>(x.shape(), st, [&](const int64_t* off, int64_t n, const int64_t* inc) {
      for (int64_t i = 0; i < n; ++i) py[off[1] + i * inc[1]] = a * px[off[0] + i * inc[0]] + b;
    });
  });
}

void CpuBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  dispatch_float(out.dtype(), "where", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const uint8_t* pc = cond.data<uint8_t>();
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    const Shape* st[4] = {&cond.strides(), &a.strides(), &b.strides(), &out.strides()};
    for_each_row<4>(out.shape(), st, [&](const int64_t* off, int64_t n, const int64_t* inc) {
      for (int64_t i = 0; i < n; ++i)
        po[off[3] + i * inc[3]] = pc[off[0] + i * inc[0]] ? pa[off[1] + i * inc[1]] : pb[off[2] + i * inc[2]];
    });
  });
}

}  // namespace asr::cpu
