// matmul (batched, broadcasting) and linear. Both lower to Backend::gemm on rank-3 operands.
// linear skips the weight-gradient GEMM, and does not keep its input alive, when the weight is
// frozen: that is what makes adapter training cheap.
#include "asr/ops/ops.h"
#include "op_utils.h"

namespace asr::ops {

using autograd::Node;
using autograd::record_fn;

namespace {

// A rank-3 operand for gemm: either a view with unit last stride, or its transpose-view with the
// transpose flag flipped, or a contiguous copy.
struct GemmOperand {
  Tensor t;
  bool trans;
};

GemmOperand gemm_operand(const Tensor& x3, bool trans) {
  if (x3.strides()[2] == 1) return {x3, trans};
  if (x3.strides()[1] == 1) return {x3.transpose(1, 2), !trans};
  return {x3.contiguous(), trans};
}

// c[b] = op(a[b]) @ op(b[b]) with no autograd; a, b rank 3 with equal (or 1 = broadcast) batch.
Tensor bmm_raw(const Tensor& a, bool ta, const Tensor& b, bool tb) {
  int64_t batch = std::max(a.shape()[0], b.shape()[0]);
  int64_t m = ta ? a.shape()[2] : a.shape()[1];
  int64_t n = tb ? b.shape()[1] : b.shape()[2];
  GemmOperand ga = gemm_operand(a, ta), gb = gemm_operand(b, tb);
  Tensor c = Tensor::empty({batch, m, n}, a.dtype(), a.device());
  detail::be(a).gemm(ga.trans, gb.trans, 1.0, ga.t, gb.t, 0.0, c);
  return c;
}

// c = a @ b for bf16 a and b (no transposes, batch 1 or broadcast), f32 result viewed as `shape`.
Tensor bmm_mixed(const Tensor& a, const Tensor& b, const Shape& shape) {
  GemmOperand ga = gemm_operand(a, false), gb = gemm_operand(b, false);
  Tensor c = Tensor::empty({std::max(a.shape()[0], b.shape()[0]), a.shape()[1], b.shape()[2]}, DType::F32,
                           a.device());
  detail::be(a).gemm(ga.trans, gb.trans, 1.0, ga.t, gb.t, 0.0, c);
  return c.view(shape);
}

// Broadcast a rank-3 operand's batch dim by stride 0 (no copy).
Tensor batch_view(const Tensor& x3, int64_t batch) {
  if (x3.shape()[0] == batch) return x3;
  Shape st = x3.strides();
  st[0] = 0;
  return make_view(x3, {batch, x3.shape()[1], x3.shape()[2]}, st, x3.offset());
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  detail::check_float_same_dtype("matmul", {&a_in, &b_in});
  ASR_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1, "matmul", "scalars are not allowed: ",
            detail::shapes_str({&a_in, &b_in}));
  // 1-D operands follow torch: a vector on the left is a row, on the right a column.
  if (a_in.dim() == 1) return matmul(a_in.unsqueeze(0), b_in).squeeze(-2);
  if (b_in.dim() == 1) return matmul(a_in, b_in.unsqueeze(-1)).squeeze(-1);
  const int64_t m = a_in.size(-2), k = a_in.size(-1), k2 = b_in.size(-2), n = b_in.size(-1);
  ASR_CHECK(k == k2, "matmul", "inner dimensions differ: ", detail::shapes_str({&a_in, &b_in}));
  Shape ba(a_in.shape().begin(), a_in.shape().end() - 2), bb(b_in.shape().begin(), b_in.shape().end() - 2);
  Shape batch = broadcast_shapes(ba, bb, "matmul");
  int64_t nb = shape_numel(batch);
  // Collapse batch dims. An operand without batch dims broadcasts by stride 0 (no copy).
  auto as3 = [&](const Tensor& t, const Shape& tb, int64_t r, int64_t c) {
    Tensor d = t.detach();
    if (tb.empty()) return batch_view(d.unsqueeze(0), nb);
    Shape full = batch;
    full.push_back(r);
    full.push_back(c);
    return d.expand(full).reshape({nb, r, c});
  };
  Tensor a3 = as3(a_in, ba, m, k), b3 = as3(b_in, bb, k, n);
  Tensor out = bmm_raw(a3, false, b3, false);
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  out = out.view(out_shape);
  if (!autograd::any_requires_grad({&a_in, &b_in})) return out;
  Tensor sa = b_in.requires_grad() ? a3 : Tensor();
  Tensor sb = a_in.requires_grad() ? b3 : Tensor();
  Shape sha = a_in.shape(), shb = b_in.shape();
  return record_fn(out, "matmul", {&a_in, &b_in},
                   [sa, sb, sha, shb, nb, m, n, k, batch](const Tensor& g, const Node& node) {
    Tensor g3 = g.reshape({nb, m, n});
    Tensor ga, gb;
    auto unbatch = [&](Tensor x3, const Shape& target, int64_t r, int64_t c) {
      Shape full = batch;
      full.push_back(r);
      full.push_back(c);
      return detail::sum_to_shape(x3.view(full), target);
    };
    if (node.needs_grad(0)) ga = unbatch(bmm_raw(g3, false, sb, true), sha, m, k);
    if (node.needs_grad(1)) gb = unbatch(bmm_raw(sa, true, g3, false), shb, k, n);
    return std::vector<Tensor>{ga, gb};
  });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  // Mixed precision: a frozen bf16 weight (ConformerCtcModel::convert_frozen_linear_weights)
  // with f32 activations. The GEMMs take bf16 operands and accumulate in f32; y and dx are f32.
  const bool mixed = weight.defined() && weight.dtype() == DType::BF16;
  if (mixed) {
    ASR_CHECK(x.dtype() == DType::F32 && (!bias.defined() || bias.dtype() == DType::F32), "linear",
              "a bf16 weight needs f32 input and bias, got ", detail::shapes_str({&x, &weight, &bias}));
    ASR_CHECK(!weight.requires_grad(), "linear", "a bf16 weight must be frozen (adapters and trained ",
              "weights keep f32 master copies), got ", weight.describe());
    detail::check_float_same_dtype("linear", {&x, &bias});
    detail::check_same_device("linear", {&x, &weight});
  } else {
    detail::check_float_same_dtype("linear", {&x, &weight, &bias});
  }
  ASR_CHECK(weight.dim() == 2, "linear", "weight must be [out, in], got ", weight.describe());
  ASR_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear", "input ", x.describe(),
            " does not match weight ", weight.describe());
  const int64_t in = weight.size(1), out_f = weight.size(0);
  if (bias.defined())
    ASR_CHECK(bias.dim() == 1 && bias.size(0) == out_f, "linear", "bias ", bias.describe(),
              " does not match weight ", weight.describe());
  Tensor x2 = x.detach().reshape({-1, in});
  const int64_t rows = x2.size(0);
  Tensor y = Tensor::empty({1, rows, out_f}, x.dtype(), x.device());
  double beta = 0.0;
  if (bias.defined()) {  // y = bias (broadcast) then y += x W^T
    y.copy_(bias.detach().expand({1, rows, out_f}));
    beta = 1.0;
  }
  Tensor w3 = weight.detach().unsqueeze(0);
  const Tensor x_op = mixed ? x2.to(DType::BF16) : x2;
  GemmOperand gx3 = gemm_operand(x_op.unsqueeze(0), false), gw3 = gemm_operand(w3, true);
  detail::be(x).gemm(gx3.trans, gw3.trans, 1.0, gx3.t, gw3.t, beta, y);
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  y = y.view(out_shape);
  if (!autograd::any_requires_grad({&x, &weight, &bias})) return y;
  // Save x only for dW and W only for dX: a frozen weight keeps no activation alive.
  Tensor saved_x = weight.requires_grad() ? x2 : Tensor();
  Tensor saved_w = x.requires_grad() ? weight.detach() : Tensor();
  Shape x_shape = x.shape();
  return record_fn(y, "linear", {&x, &weight, &bias},
                   [saved_x, saved_w, x_shape, rows, in, out_f, mixed](const Tensor& g, const Node& n) {
    Tensor g3 = g.reshape({1, rows, out_f});
    Tensor gx, gw, gb;
    if (n.needs_grad(0)) {
      // dx = g W; with a bf16 W, g is rounded to bf16 too and dx comes back in f32.
      Tensor w = saved_w.unsqueeze(0);
      gx = mixed ? bmm_mixed(g3.to(DType::BF16), w, x_shape) : bmm_raw(g3, false, w, false).view(x_shape);
    }
    if (n.needs_grad(1)) gw = bmm_raw(g3, true, saved_x.unsqueeze(0), false).view({out_f, in});
    if (n.needs_grad(2)) gb = sum(g3, {0, 1});
    return std::vector<Tensor>{gx, gw, gb};
  });
}

}  // namespace asr::ops
