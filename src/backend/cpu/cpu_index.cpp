// index_select / gather and their scatter-add adjoints. x is viewed as [outer, n, inner] around
// `dim`. Scatter-adds run serially over the indexed dim so repeated indices add in a fixed order.
#include "cpu_backend.h"
#include "cpu_common.h"

namespace asr::cpu {

namespace {
struct Split {
  int64_t outer = 1, n = 1, inner = 1;
};
Split split_at(const Shape& s, int64_t dim) {
  Split r;
  for (int64_t i = 0; i < dim; ++i) r.outer *= s[i];
  r.n = s[dim];
  for (size_t i = static_cast<size_t>(dim) + 1; i < s.size(); ++i) r.inner *= s[i];
  return r;
}
}  // namespace

void CpuBackend::index_select(const Tensor& x_c, int64_t dim, const Tensor& index, Tensor& y) {
  Split sx = split_at(x_c.shape(), dim);
  const int64_t k = index.numel();
  dispatch_float(x_c.dtype(), "index_select", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x_c.data<T>();
    T* py = y.data<T>();
    for (int64_t o = 0; o < sx.outer; ++o)
      for (int64_t j = 0; j < k; ++j) {
        const T* src = px + (o * sx.n + index_at(index, j)) * sx.inner;
        T* dst = py + (o * k + j) * sx.inner;
        for (int64_t i = 0; i < sx.inner; ++i) dst[i] = src[i];
      }
  });
}

void CpuBackend::index_add(const Tensor& gy_c, int64_t dim, const Tensor& index, Tensor& gx) {
  Split sx = split_at(gx.shape(), dim);
  const int64_t k = index.numel();
  dispatch_float(gx.dtype(), "index_add", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pg = gy_c.data<T>();
    T* px = gx.data<T>();
    for (int64_t o = 0; o < sx.outer; ++o)
      for (int64_t j = 0; j < k; ++j) {
        const T* src = pg + (o * k + j) * sx.inner;
        T* dst = px + (o * sx.n + index_at(index, j)) * sx.inner;
        for (int64_t i = 0; i < sx.inner; ++i) dst[i] += src[i];
      }
  });
}

// Calls fn(e, off): for each element e of `index` (row-major), the offset in the contiguous
// tensor of `x_shape` that element addresses (its own coordinates, with `dim` replaced by the
// index value). Shared by gather and its adjoint scatter_add.
namespace {
template <typename Fn>
void for_each_gather_offset(const Tensor& index, const Shape& x_shape, int64_t dim, Fn&& fn) {
  Tensor idx = index.contiguous();
  const Shape& ishape = index.shape();
  const Shape xstr = contiguous_strides(x_shape);
  const int64_t total = index.numel();
  const int64_t nd = static_cast<int64_t>(ishape.size());
  for (int64_t e = 0; e < total; ++e) {
    int64_t rem = e, off = 0;
    for (int64_t d = nd - 1; d >= 0; --d) {
      int64_t c = rem % ishape[d];
      rem /= ishape[d];
      off += (d == dim ? index_at(idx, e) : c) * xstr[d];
    }
    fn(e, off);
  }
}
}  // namespace

void CpuBackend::gather(const Tensor& x_c, int64_t dim, const Tensor& index, Tensor& y) {
  dispatch_float(x_c.dtype(), "gather", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x_c.data<T>();
    T* py = y.data<T>();
    for_each_gather_offset(index, x_c.shape(), dim, [&](int64_t e, int64_t off) { py[e] = px[off]; });
  });
}

void CpuBackend::scatter_add(const Tensor& gy_c, int64_t dim, const Tensor& index, Tensor& gx) {
  // Serial, in index order: repeated indices add in a fixed order (deterministic).
  dispatch_float(gx.dtype(), "scatter_add", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pg = gy_c.data<T>();
    T* px = gx.data<T>();
    for_each_gather_offset(index, gx.shape(), dim, [&](int64_t e, int64_t off) { px[off] += pg[e]; });
  });
}

}  // namespace asr::cpu
