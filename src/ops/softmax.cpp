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

// g * c in place on a fresh gradient (no autograd).
Tensor scale_(Tensor g, double c) {
  detail::be(g).affine(g, c, 0.0, g);
  return g;
}

}  // namespace

Tensor rel_pos_softmax(const Tensor& ac, const Tensor& bd, const Tensor& att_mask, double scale) {
  constexpr const char* kOp = "rel_pos_softmax";
  detail::check_float_same_dtype(kOp, {&ac, &bd});
  ASR_CHECK(ac.dim() == 4 && ac.size(2) == ac.size(3), kOp, "ac must be [B, H, T, T], got ", ac.describe());
  const int64_t B = ac.size(0), H = ac.size(1), T = ac.size(2);
  ASR_CHECK(bd.dim() == 4 && bd.size(0) == B && bd.size(1) == H && bd.size(2) == T && bd.size(3) == 2 * T - 1, kOp,
            "bd must be [", B, ", ", H, ", ", T, ", ", 2 * T - 1, "] for ac ", ac.describe(), ", got ", bd.describe());
  Tensor mask;
  if (att_mask.defined()) {
    ASR_CHECK(att_mask.dtype() == DType::Bool && att_mask.dim() == 3 && att_mask.size(0) == B &&
                  att_mask.size(1) == T && att_mask.size(2) == T,
              kOp, "att_mask must be bool [", B, ", ", T, ", ", T, "], got ", att_mask.describe());
    detail::check_same_device(kOp, {&ac, &att_mask});
    mask = att_mask.contiguous();
  }
  const Tensor ac_c = ac.detach().contiguous(), bd_c = bd.detach().contiguous();
  Tensor y = detail::empty_like(ac_c);
  detail::be(ac).rel_pos_softmax(ac_c, bd_c, mask, scale, y);
  if (!autograd::any_requires_grad({&ac, &bd})) return y;
  const Tensor sy = y.detach();
  return record_fn(y, kOp, {&ac, &bd}, [sy, scale, B, H, T](const Tensor& g, const Node& node) {
    // Masked entries of y are 0, so the plain softmax backward on y already gives them zero
    // gradient (and a fully masked row, all zeros, gets none at all).
    Tensor gs = detail::empty_like(sy);
    detail::be(g).softmax_backward(sy, g.contiguous(), false, gs);
    gs = scale_(gs, scale);
    Tensor gbd;
    if (node.needs_grad(1)) {  // rel_shift's backward: row i of gs lands at columns T-1-i .. 2T-2-i
      gbd = Tensor::zeros({B, H, T, 2 * T - 1}, gs.dtype(), gs.device());
      make_view(gbd, {B, H, T, T}, {H * T * (2 * T - 1), T * (2 * T - 1), 2 * T - 2, 1}, T - 1).copy_(gs);
    }
    return std::vector<Tensor>{node.needs_grad(0) ? gs : Tensor(), gbd};
  });
}

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace asr::ops
