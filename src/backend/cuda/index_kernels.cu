// index_select / gather and their scatter-add adjoints. x is viewed as [outer, n, inner] around
// `dim`. The scatter-adds give each thread a set of destinations no other thread touches and add
// into them in index order (as the CPU does): no atomics, bitwise reproducible.
#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_device.cuh"
#include "cuda_dispatch.h"

namespace asr::cuda {

namespace {

// Element i of an I64 (is64) or I32 index buffer.
__device__ __forceinline__ int64_t load_index(const void* p, bool is64, int64_t i) {
  return is64 ? static_cast<const int64_t*>(p)[i]
              : static_cast<int64_t>(static_cast<const int32_t*>(p)[i]);
}

template <typename T>
__global__ void index_select_kernel(const T* x, const void* idx, bool is64, T* y, int64_t outer,
                                    int64_t n, int64_t k, int64_t inner) {
  const int64_t total = outer * k * inner;
  ASR_GRID_STRIDE(i, total) {
    const int64_t in = i % inner, t = i / inner;
    const int64_t j = t % k, o = t / k;
    y[i] = x[(o * n + load_index(idx, is64, j)) * inner + in];
  }
}

// One thread per (o, in) column: rows j added in order.
template <typename T>
__global__ void index_add_kernel(const T* gy, const void* idx, bool is64, T* gx, int64_t outer,
                                 int64_t n, int64_t k, int64_t inner) {
  const int64_t total = outer * inner;
  ASR_GRID_STRIDE(q, total) {
    const int64_t in = q % inner, o = q / inner;
    for (int64_t j = 0; j < k; ++j)
      gx[(o * n + load_index(idx, is64, j)) * inner + in] += gy[(o * k + j) * inner + in];
  }
}

struct GatherGeom {
  int nd;
  int dim;
  int64_t ishape[kMaxDims];   // index (= gathered output) shape
  int64_t istride[kMaxDims];  // its contiguous strides
  int64_t xstride[kMaxDims];  // contiguous strides of x (or gx)
};

template <typename T>
__global__ void gather_kernel(const T* x, const void* idx, bool is64, T* y, GatherGeom g,
                              int64_t total) {
  ASR_GRID_STRIDE(e, total) {
    int64_t rem = e, off = 0;
    for (int d = g.nd - 1; d >= 0; --d) {
      const int64_t c = rem % g.ishape[d];
      rem /= g.ishape[d];
      off += (d == g.dim ? load_index(idx, is64, e) : c) * g.xstride[d];
    }
    y[e] = x[off];
  }
}

// One thread per index "column" (all coordinates but `dim`); its destinations differ from every
// other column's in some coordinate other than dim, so no two threads write the same element.
template <typename T>
__global__ void scatter_add_kernel(const T* gy, const void* idx, bool is64, T* gx, GatherGeom g,
                                   int64_t ncols) {
  ASR_GRID_STRIDE(q, ncols) {
    int64_t rem = q, e0 = 0, base = 0;
    for (int d = g.nd - 1; d >= 0; --d) {
      if (d == g.dim) continue;
      const int64_t c = rem % g.ishape[d];
      rem /= g.ishape[d];
      e0 += c * g.istride[d];
      base += c * g.xstride[d];
    }
    for (int64_t j = 0; j < g.ishape[g.dim]; ++j) {
      const int64_t e = e0 + j * g.istride[g.dim];
      gx[base + load_index(idx, is64, e) * g.xstride[g.dim]] += gy[e];
    }
  }
}

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

void check_index(const char* op, const Tensor& index, int64_t dim, const Tensor& x) {
  ASR_CHECK(index.dtype() == DType::I64 || index.dtype() == DType::I32, op,
            "index must be i64 or i32, got ", index.describe());
  ASR_CHECK(!index.device().is_cpu(), op, "index ", index.describe(), " must be on the device");
  ASR_CHECK(dim >= 0 && dim < x.dim(), op, "dim ", dim, " out of range for ", x.describe());
}

GatherGeom gather_geom(const char* op, const Shape& ishape, const Shape& xshape, int64_t dim) {
  ASR_CHECK(ishape.size() == xshape.size() && ishape.size() <= static_cast<size_t>(kMaxDims), op,
            "index rank ", ishape.size(), " must match input rank ", xshape.size(),
            " (at most ", kMaxDims, " on CUDA)");
  GatherGeom g{};
  g.nd = static_cast<int>(ishape.size());
  g.dim = static_cast<int>(dim);
  const Shape is = contiguous_strides(ishape), xs = contiguous_strides(xshape);
  for (int d = 0; d < g.nd; ++d) {
    g.ishape[d] = ishape[d];
    g.istride[d] = is[d];
    g.xstride[d] = xs[d];
  }
  return g;
}

}  // namespace

void CudaBackend::index_select(const Tensor& x_c, int64_t dim, const Tensor& index, Tensor& y) {
  check_index("index_select", index, dim, x_c);
  const Split s = split_at(x_c.shape(), dim);
  const int64_t k = index.numel();
  if (s.outer * k * s.inner == 0) return;
  DeviceGuard guard(device_);
  Tensor idx = index.contiguous();
  dispatch_float(x_c.dtype(), "index_select", [&](auto tag) {
    using T = decltype(tag);
    index_select_kernel<T><<<blocks_for(s.outer * k * s.inner), kThreads>>>(
        x_c.data<T>(), idx.raw_data(), idx.dtype() == DType::I64, y.data<T>(), s.outer, s.n, k,
        s.inner);
    CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::index_add(const Tensor& gy_c, int64_t dim, const Tensor& index, Tensor& gx) {
  check_index("index_add", index, dim, gx);
  const Split s = split_at(gx.shape(), dim);
  const int64_t k = index.numel();
  if (s.outer * k * s.inner == 0) return;
  DeviceGuard guard(device_);
  Tensor idx = index.contiguous();
  dispatch_float(gx.dtype(), "index_add", [&](auto tag) {
    using T = decltype(tag);
    index_add_kernel<T><<<blocks_for(s.outer * s.inner), kThreads>>>(
        gy_c.data<T>(), idx.raw_data(), idx.dtype() == DType::I64, gx.data<T>(), s.outer, s.n, k,
        s.inner);
    CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::gather(const Tensor& x_c, int64_t dim, const Tensor& index, Tensor& y) {
  check_index("gather", index, dim, x_c);
  const GatherGeom g = gather_geom("gather", index.shape(), x_c.shape(), dim);
  const int64_t total = index.numel();
  if (total == 0) return;
  DeviceGuard guard(device_);
  Tensor idx = index.contiguous();
  dispatch_float(x_c.dtype(), "gather", [&](auto tag) {
    using T = decltype(tag);
    gather_kernel<T><<<blocks_for(total), kThreads>>>(x_c.data<T>(), idx.raw_data(),
                                                      idx.dtype() == DType::I64, y.data<T>(), g,
                                                      total);
    CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::scatter_add(const Tensor& gy_c, int64_t dim, const Tensor& index, Tensor& gx) {
  check_index("scatter_add", index, dim, gx);
  const GatherGeom g = gather_geom("scatter_add", index.shape(), gx.shape(), dim);
  const int64_t total = index.numel();
  if (total == 0) return;
  const int64_t ncols = total / index.shape()[dim];
  DeviceGuard guard(device_);
  Tensor idx = index.contiguous();
  dispatch_float(gx.dtype(), "scatter_add", [&](auto tag) {
    using T = decltype(tag);
    scatter_add_kernel<T><<<blocks_for(ncols), kThreads>>>(gy_c.data<T>(), idx.raw_data(),
                                                           idx.dtype() == DType::I64,
                                                           gx.data<T>(), g, ncols);
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace asr::cuda
