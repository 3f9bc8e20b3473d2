#pragma once
// Strided iteration for CUDA kernels: a shape plus the element strides of K operands, small
// enough to pass to a kernel by value. Built on the host from Tensor metadata with size-1 dims
// dropped and dims merged where every operand is contiguous across them, so most real layouts
// need 1-3 dims. Plain C++ (no CUDA): used by the .cpp and the .cu files alike.
#include <cstdint>
#include <vector>

#include "asr/core/error.h"
#include "asr/core/shape.h"

namespace asr::cuda {

constexpr int kMaxDims = 8;

template <int K>
struct Layout {
  int nd = 0;                             // dims after collapsing (0: a single element)
  int64_t size[kMaxDims] = {};            // row-major, outermost first
  int64_t stride[K][kMaxDims] = {};       // element strides per operand
};

// Collapses `shape` with the K operands' strides into a Layout; throws naming `op` when more
// than kMaxDims dims remain.
template <int K>
Layout<K> make_layout(const Shape& shape, const Shape* const (&strides)[K], const char* op) {
  std::vector<int64_t> sz;
  std::vector<std::vector<int64_t>> st(K);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;  // contributes nothing to any offset
    const bool merge = !sz.empty() && [&] {
      for (int k = 0; k < K; ++k)
        if (st[k].back() != (*strides[k])[d] * shape[d]) return false;
      return true;
    }();
    if (merge) {  // previous dim is contiguous with this one in every operand
      sz.back() *= shape[d];
      for (int k = 0; k < K; ++k) st[k].back() = (*strides[k])[d];
    } else {
      sz.push_back(shape[d]);
      for (int k = 0; k < K; ++k) st[k].push_back((*strides[k])[d]);
    }
  }
  ASR_CHECK(sz.size() <= static_cast<size_t>(kMaxDims), op, "CUDA kernels support at most ",
            kMaxDims, " non-collapsible dims, got shape ", shape_str(shape));
  Layout<K> l;
  l.nd = static_cast<int>(sz.size());
  for (int d = 0; d < l.nd; ++d) {
    l.size[d] = sz[d];
    for (int k = 0; k < K; ++k) l.stride[k][d] = st[k][d];
  }
  return l;
}

}  // namespace asr::cuda
