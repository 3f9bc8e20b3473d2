// index_select and gather with range-checked indices; backward scatter-adds into zeros.
#include "asr/ops/ops.h"
#include "op_utils.h"

namespace asr::ops {

using autograd::Node;
using autograd::record_fn;

namespace {

// Validates an index tensor (integer, on the CPU side of the check, values in [0, n)) and returns
// it as a contiguous I64 tensor.
Tensor checked_index(const char* op, const Tensor& index, int64_t n, const Tensor& x, int64_t dim) {
  ASR_CHECK(index.dtype() == DType::I64 || index.dtype() == DType::I32, op,
            "index must be i64 or i32, got ", index.describe());
  ASR_CHECK(index.device() == x.device(), op, "index ", index.describe(), " and input ",
            x.describe(), " are on different devices");
  Tensor idx = index.to(DType::I64).contiguous();
  std::vector<double> v = idx.to_vector();
  for (size_t i = 0; i < v.size(); ++i)
    ASR_CHECK(v[i] >= 0 && v[i] < static_cast<double>(n), op, "index ", static_cast<int64_t>(v[i]),
              " at position ", i, " is out of range for dim ", dim, " of ", x.describe());
  return idx;
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  detail::check_float_same_dtype("index_select", {&x});
  int64_t d = wrap_dim(dim, x.dim(), "index_select");
  ASR_CHECK(index.dim() <= 1, "index_select", "index must be 1-D, got ", index.describe());
  Tensor idx = checked_index("index_select", index.reshape({-1}), x.shape()[d], x, d);
  Shape out_shape = x.shape();
  out_shape[d] = idx.numel();
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  detail::be(x).index_select(x.detach().contiguous(), d, idx, y);
  Shape in_shape = x.shape();
  return record_fn(y, "index_select", {&x}, [idx, d, in_shape](const Tensor& g, const Node&) {
    Tensor gx = Tensor::zeros(in_shape, g.dtype(), g.device());
    detail::be(g).index_add(g.contiguous(), d, idx, gx);
    return std::vector<Tensor>{gx};
  });
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  detail::check_float_same_dtype("gather", {&x});
  int64_t d = wrap_dim(dim, x.dim(), "gather");
  ASR_CHECK(index.dim() == x.dim(), "gather", "index ", index.describe(), " must have the rank of ",
            x.describe());
  for (int64_t i = 0; i < x.dim(); ++i)
    ASR_CHECK(i == d || index.shape()[i] <= x.shape()[i], "gather", "index ", index.describe(),
              " is larger than input ", x.describe(), " in dim ", i);
  Tensor idx = checked_index("gather", index, x.shape()[d], x, d);
  Tensor y = Tensor::empty(index.shape(), x.dtype(), x.device());
  detail::be(x).gather(x.detach().contiguous(), d, idx, y);
  Shape in_shape = x.shape();
  return record_fn(y, "gather", {&x}, [idx, d, in_shape](const Tensor& g, const Node&) {
    Tensor gx = Tensor::zeros(in_shape, g.dtype(), g.device());
    detail::be(g).scatter_add(g.contiguous(), d, idx, gx);
    return std::vector<Tensor>{gx};
  });
}

}  // namespace asr::ops
