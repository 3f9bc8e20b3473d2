// Pointwise kernels over arbitrary strides (broadcast operands arrive as stride-0 views).
#include <algorithm>

#include "asr/backend/pointwise_math.h"
#include "cpu_backend.h"
#include "cpu_common.h"
#include "cpu_vec_exp.h"

namespace asr::cpu {
namespace {

constexpr bool exp_based(UnaryOp o) { return o == UnaryOp::Exp || o == UnaryOp::Sigmoid || o == UnaryOp::Silu; }

// Calls fn(i0, i1) on each thread for its own range of [0, n), split in multiples of four so
// only the last range has a partial block of SSE2 lanes (one thread when n is small). The AVX2
// kernels may see a padded tail of four in any range: the padding never changes a lane's result.
template <typename Fn>
void split_in_blocks_of_four(int64_t n, Fn fn) {
#pragma omp parallel if (n > 32768)
  {
    const int64_t nt = omp_get_num_threads(), tid = omp_get_thread_num();
    const int64_t blocks = (n + 3) / 4;
    const int64_t i0 = blocks * tid / nt * 4, i1 = std::min(n, blocks * (tid + 1) / nt * 4);
    if (i0 < i1) fn(i0, i1);
  }
}

// y = op(x) for the exp-based ops on contiguous f32, eight (AVX2) or four (SSE2) lanes at a time.
template <UnaryOp O>
void exp_based_unary(const float* x, float* y, int64_t n) {
  constexpr lanes::ExpMap kind = O == UnaryOp::Exp       ? lanes::ExpMap::Exp
                                 : O == UnaryOp::Sigmoid ? lanes::ExpMap::Sigmoid
                                                         : lanes::ExpMap::Silu;
  split_in_blocks_of_four(n, [&](int64_t i0, int64_t i1) { vec::exp_map(kind, x + i0, y + i0, i1 - i0); });
}

// gx = gy * s * (1 + x (1 - s)) with s = sigmoid(x), one pass.
void silu_backward_f32(const float* x, const float* gy, float* gx, int64_t n) {
  split_in_blocks_of_four(n, [&](int64_t i0, int64_t i1) { vec::silu_backward(x + i0, gy + i0, gx + i0, i1 - i0); });
}

}  // namespace

using pointwise::apply_binary;
using pointwise::apply_unary;
using pointwise::unary_derivative;

void CpuBackend::unary(UnaryOp op, const Tensor& x, Tensor& y) {
  dispatch_float(x.dtype(), "unary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    dispatch_unary(op, [&](auto k) {
      constexpr UnaryOp o = decltype(k)::value;
      if (x.is_contiguous() && y.is_contiguous()) {
        const int64_t n = x.numel();
        if constexpr (std::is_same_v<T, float>) {  // nested: clang checks the call once T is known
          if constexpr (exp_based(o)) {
            exp_based_unary<o>(px, py, n);
            return;
          }
        }
#pragma omp parallel for simd schedule(static) if (n > 32768)
        for (int64_t i = 0; i < n; ++i) py[i] = apply_unary(o, px[i]);
        return;
      }
      const Shape* st[2] = {&x.strides(), &y.strides()};
      parallel_for_each_row<2>(x.shape(), st, [&](const int64_t* off, int64_t n, const int64_t* inc) {
        for (int64_t i = 0; i < n; ++i) py[off[1] + i * inc[1]] = apply_unary(o, px[off[0] + i * inc[0]]);
      });
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
    dispatch_unary(op, [&](auto k) {
      constexpr UnaryOp o = decltype(k)::value;
      if (x.is_contiguous() && y.is_contiguous() && gy.is_contiguous() && gx.is_contiguous()) {
        const int64_t n = x.numel();
        if constexpr (std::is_same_v<T, float>) {
          if constexpr (o == UnaryOp::Silu) {
            silu_backward_f32(px, pg, po, n);
            return;
          }
        }
#pragma omp parallel for simd schedule(static) if (n > 32768)
        for (int64_t i = 0; i < n; ++i) po[i] = pg[i] * unary_derivative(o, px[i], py[i]);
        return;
      }
      const Shape* st[4] = {&x.strides(), &y.strides(), &gy.strides(), &gx.strides()};
      parallel_for_each_row<4>(x.shape(), st, [&](const int64_t* off, int64_t n, const int64_t* inc) {
        for (int64_t i = 0; i < n; ++i)
          po[off[3] + i * inc[3]] = pg[off[2] + i * inc[2]] *
                                    unary_derivative(o, px[off[0] + i * inc[0]], py[off[1] + i * inc[1]]);
      });
    });
  });
}

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  dispatch_float(out.dtype(), "binary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    dispatch_binary(op, [&](auto k) {
      constexpr BinaryOp o = decltype(k)::value;
      if (a.is_contiguous() && b.is_contiguous() && out.is_contiguous() && a.shape() == b.shape()) {
        const int64_t n = out.numel();
#pragma omp parallel for simd schedule(static) if (n > 32768)
        for (int64_t i = 0; i < n; ++i) po[i] = apply_binary(o, pa[i], pb[i]);
        return;
      }
      const Shape* st[3] = {&a.strides(), &b.strides(), &out.strides()};
      parallel_for_each_row<3>(out.shape(), st, [&](const int64_t* off, int64_t n, const int64_t* inc) {
        if (inc[0] == 1 && inc[1] == 1 && inc[2] == 1) {  // same-layout rows (e.g. a row broadcast)
          const T* ra = pa + off[0];
          const T* rb = pb + off[1];
          T* ro = po + off[2];
#pragma omp simd
          for (int64_t i = 0; i < n; ++i) ro[i] = apply_binary(o, ra[i], rb[i]);
          return;
        }
        for (int64_t i = 0; i < n; ++i)
          po[off[2] + i * inc[2]] = apply_binary(o, pa[off[0] + i * inc[0]], pb[off[1] + i * inc[1]]);
      });
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
    parallel_for_each_row<2>(x.shape(), st, [&](const int64_t* off, int64_t n, const int64_t* inc) {
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
    parallel_for_each_row<4>(out.shape(), st, [&](const int64_t* off, int64_t n, const int64_t* inc) {
      for (int64_t i = 0; i < n; ++i)
        po[off[3] + i * inc[3]] = pc[off[0] + i * inc[0]] ? pa[off[1] + i * inc[1]] : pb[off[2] + i * inc[2]];
    });
  });
}

}  // namespace asr::cpu
