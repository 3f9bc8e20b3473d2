// softmax / log_softmax along any dim (moved to the last dim for the row kernel).
#include "asr/ops/ops.h"
#include "op_utils.h"

namespace asr::ops {

using autograd::Node;
using autograd::record_fn;

namespace {

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  detail::check_float_same_dtype(name, {&x});
  int64_t d = wrap_dim(dim, x.dim(), name);
  if (x.dim() > 0 && d != x.dim() - 1) {
    return softmax_impl(x.transpose(d, -1), -1, log).transpose(d, -1);
  }
  Tensor xc = x.detach().contiguous();
  Tensor y = detail::empty_like(xc);
  detail::be(x).softmax(xc, log, y);
  if (!autograd::any_requires_grad({&x})) return y;
  Tensor sy = y.detach();
  return record_fn(y, name, {&x}, [sy, log](const Tensor& g, const Node&) {
    Tensor gx = detail::empty_like(sy);
    detail::be(g).softmax_backward(sy, g.contiguous(), log, gx);
    return std::vector<Tensor>{gx};
  });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace asr::ops
