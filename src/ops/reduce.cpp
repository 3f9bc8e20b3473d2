// sum / mean over all elements or a set of dims.
#include <algorithm>

#include "asr/ops/ops.h"
#include "op_utils.h"

namespace asr::ops {

using autograd::Node;
using autograd::record_fn;

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  detail::check_float_same_dtype("sum", {&x});
  Shape keep = x.shape(), dropped;
  std::vector<bool> reduce(x.shape().size(), false);
  for (int64_t d : dims) reduce[wrap_dim(d, x.dim(), "sum")] = true;
  for (size_t d = 0; d < keep.size(); ++d) {
    if (reduce[d]) keep[d] = 1;
    else dropped.push_back(keep[d]);
  }
  Tensor out = Tensor::empty(keep, x.dtype(), x.device());
  detail::be(x).sum_to(x, out);
  if (!keepdim) out = out.view(dropped);
  Shape in_shape = x.shape();
  return record_fn(out, "sum", {&x}, [in_shape, keep](const Tensor& g, const Node&) {
    return std::vector<Tensor>{g.reshape(keep).expand(in_shape).contiguous()};
  });
}

Tensor sum(const Tensor& x) {
  std::vector<int64_t> all(static_cast<size_t>(x.dim()));
  for (int64_t i = 0; i < x.dim(); ++i) all[i] = i;
  return sum(x, all, false);
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  int64_t count = 1;
  std::vector<bool> seen(x.shape().size(), false);
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, x.dim(), "mean");
    if (!seen[w]) count *= x.shape()[w];
    seen[w] = true;
  }
  ASR_CHECK(count > 0, "mean", "mean over an empty dimension of ", x.describe());
  return scale(sum(x, dims, keepdim), 1.0 / static_cast<double>(count));
}

Tensor mean(const Tensor& x) {
  std::vector<int64_t> all(static_cast<size_t>(x.dim()));
  for (int64_t i = 0; i < x.dim(); ++i) all[i] = i;
  return mean(x, all, false);
}

}  // namespace asr::ops
