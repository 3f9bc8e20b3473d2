// Broadcasting binary ops, scalar affine ops and the pointwise activations.
#include <cmath>

#include "asr/ops/ops.h"
#include "op_utils.h"

namespace asr::ops {

using autograd::Node;
using autograd::record_fn;
using detail::be;
using detail::sum_to_shape;

namespace {

Tensor binary_forward(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  detail::check_float_same_dtype(name, {&a, &b});
  Shape out_shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  be(a).binary(op, a.detach().expand(out_shape), b.detach().expand(out_shape), out);
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Add, "add", a, b);
  Shape sa = a.shape(), sb = b.shape();
  return record_fn(out, "add", {&a, &b}, [sa, sb](const Tensor& g, const Node& n) {
    return std::vector<Tensor>{n.needs_grad(0) ? sum_to_shape(g, sa) : Tensor(),
                               n.needs_grad(1) ? sum_to_shape(g, sb) : Tensor()};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Sub, "sub", a, b);
  Shape sa = a.shape(), sb = b.shape();
  return record_fn(out, "sub", {&a, &b}, [sa, sb](const Tensor& g, const Node& n) {
    return std::vector<Tensor>{n.needs_grad(0) ? sum_to_shape(g, sa) : Tensor(),
                               n.needs_grad(1) ? sum_to_shape(neg(g), sb) : Tensor()};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Mul, "mul", a, b);
  if (!autograd::any_requires_grad({&a, &b})) return out;
  // Save only the operand the other gradient needs.
  Tensor sa = b.requires_grad() ? a.detach() : Tensor();
  Tensor sb = a.requires_grad() ? b.detach() : Tensor();
  Shape sha = a.shape(), shb = b.shape();
  return record_fn(out, "mul", {&a, &b}, [sa, sb, sha, shb](const Tensor& g, const Node& n) {
    return std::vector<Tensor>{n.needs_grad(0) ? sum_to_shape(mul(g, sb), sha) : Tensor(),
                               n.needs_grad(1) ? sum_to_shape(mul(g, sa), shb) : Tensor()};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Div, "div", a, b);
  if (!autograd::any_requires_grad({&a, &b})) return out;
  Tensor sb = b.detach();
  Tensor so = b.requires_grad() ? out.detach() : Tensor();
  Shape sha = a.shape(), shb = b.shape();
  return record_fn(out, "div", {&a, &b}, [sb, so, sha, shb](const Tensor& g, const Node& n) {
    Tensor ga, gb;
    if (n.needs_grad(0)) ga = sum_to_shape(div(g, sb), sha);
    if (n.needs_grad(1)) gb = sum_to_shape(neg(div(mul(g, so), sb)), shb);  // -g*a/b^2
    return std::vector<Tensor>{ga, gb};
  });
}

Tensor scale(const Tensor& x, double alpha) {
  detail::check_float_same_dtype("scale", {&x});
  Tensor y = detail::empty_like(x);
  be(x).affine(x, alpha, 0.0, y);
  return record_fn(y, "scale", {&x}, [alpha](const Tensor& g, const Node&) {
    return std::vector<Tensor>{scale(g, alpha)};
  });
}

Tensor add_scalar(const Tensor& x, double beta) {
  detail::check_float_same_dtype("add_scalar", {&x});
  Tensor y = detail::empty_like(x);
  be(x).affine(x, 1.0, beta, y);
  return record_fn(y, "add_scalar", {&x}, [](const Tensor& g, const Node&) {
    return std::vector<Tensor>{g};
  });
}

Tensor neg(const Tensor& x) { return scale(x, -1.0); }

namespace {

Tensor unary_op(UnaryOp op, const char* name, const Tensor& x) {
  detail::check_float_same_dtype(name, {&x});
  Tensor y = detail::empty_like(x);
  be(x).unary(op, x, y);
  if (!autograd::any_requires_grad({&x})) return y;
  // The backward kernel takes x and y; ops whose derivative needs only y (exp, sqrt, sigmoid,
  // tanh) still get x: a view costs nothing extra.
  Tensor sx = x.detach(), sy = y.detach();
  return record_fn(y, name, {&x}, [op, sx, sy](const Tensor& g, const Node&) {
    Tensor gx = detail::empty_like(g);
    be(g).unary_backward(op, sx, sy, g, gx);
    return std::vector<Tensor>{gx};
  });
}

}  // namespace

Tensor exp(const Tensor& x) { return unary_op(UnaryOp::Exp, "exp", x); }
Tensor log(const Tensor& x) { return unary_op(UnaryOp::Log, "log", x); }
Tensor sqrt(const Tensor& x) { return unary_op(UnaryOp::Sqrt, "sqrt", x); }
Tensor abs(const Tensor& x) { return unary_op(UnaryOp::Abs, "abs", x); }
Tensor relu(const Tensor& x) { return unary_op(UnaryOp::Relu, "relu", x); }
Tensor sigmoid(const Tensor& x) { return unary_op(UnaryOp::Sigmoid, "sigmoid", x); }
Tensor tanh(const Tensor& x) { return unary_op(UnaryOp::Tanh, "tanh", x); }
Tensor silu(const Tensor& x) { return unary_op(UnaryOp::Silu, "silu", x); }

Tensor bias_silu(const Tensor& x, const Tensor& bias) {
  detail::check_float_same_dtype("bias_silu", {&x, &bias});
  ASR_CHECK(x.dim() >= 1 && bias.dim() == 1 && bias.size(0) == x.size(-1), "bias_silu", "bias ", bias.describe(),
            " does not match the last dim of ", x.describe());
  const Tensor xc = x.detach().contiguous(), bc = bias.detach().contiguous();
  Tensor y = detail::empty_like(xc);
  be(x).bias_silu(xc, bc, y);
  if (!autograd::any_requires_grad({&x, &bias})) return y;
  return record_fn(y, "bias_silu", {&x, &bias}, [xc, bc](const Tensor& g, const Node& n) {
    Tensor gx = detail::empty_like(xc);
    be(g).bias_silu_backward(xc, bc, g.contiguous(), gx);
    Tensor gb;
    if (n.needs_grad(1)) gb = sum_to_shape(gx, bc.shape());
    return std::vector<Tensor>{n.needs_grad(0) ? gx : Tensor(), gb};
  });
}
Tensor gelu(const Tensor& x) { return unary_op(UnaryOp::Gelu, "gelu", x); }

Tensor glu(const Tensor& x, int64_t dim) {
  int64_t d = wrap_dim(dim, x.dim(), "glu");
  ASR_CHECK(x.shape()[d] % 2 == 0, "glu", "dim ", d, " of ", x.describe(), " must be even");
  int64_t h = x.shape()[d] / 2;
  if (d == x.dim() - 1) return masked_glu(x, Tensor());  // the fused kernel
  // Other dims: composed from differentiable views and ops, a * sigmoid(b).
  return mul(x.narrow(d, 0, h), sigmoid(x.narrow(d, h, h)));
}

Tensor masked_glu(const Tensor& x, const Tensor& row_mask) {
  detail::check_float_same_dtype("glu", {&x});
  ASR_CHECK(x.dim() >= 1 && x.shape().back() % 2 == 0, "glu", "the last dim of ", x.describe(), " must be even");
  Shape out_shape = x.shape();
  out_shape.back() /= 2;
  Tensor mask;
  if (row_mask.defined()) {
    const Shape rows(x.shape().begin(), x.shape().end() - 1);
    ASR_CHECK(row_mask.dtype() == DType::Bool && row_mask.shape() == rows, "glu", "row mask must be bool ",
              shape_str(rows), ", got ", row_mask.describe());
    detail::check_same_device("glu", {&x, &row_mask});
    mask = row_mask.contiguous();
  }
  const Tensor xc = x.detach().contiguous();
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  be(x).glu(xc, mask, y);
  if (!autograd::any_requires_grad({&x})) return y;
  return record_fn(y, "glu", {&x}, [xc, mask](const Tensor& g, const Node&) {
    Tensor gx = detail::empty_like(xc);
    be(g).glu_backward(xc, mask, g.contiguous(), gx);
    return std::vector<Tensor>{gx};
  });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  ASR_CHECK(cond.dtype() == DType::Bool, "where", "condition must be bool, got ", cond.describe());
  detail::check_float_same_dtype("where", {&a, &b});
  detail::check_same_device("where", {&cond, &a});
  Shape s = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = Tensor::empty(s, a.dtype(), a.device());
  be(a).where(cond.expand(s), a.detach().expand(s), b.detach().expand(s), out);
  if (!autograd::any_requires_grad({&a, &b})) return out;
  Tensor c = cond.detach();
  Shape sa = a.shape(), sb = b.shape();
  return record_fn(out, "where", {&a, &b}, [c, sa, sb](const Tensor& g, const Node& n) {
    Tensor zero = Tensor::zeros({}, g.dtype(), g.device());
    Tensor ga, gb;
    if (n.needs_grad(0)) ga = sum_to_shape(where(c, g, zero), sa);
    if (n.needs_grad(1)) gb = sum_to_shape(where(c, zero, g), sb);
    return std::vector<Tensor>{ga, gb};
  });
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  ASR_CHECK(mask.dtype() == DType::Bool, "masked_fill", "mask must be bool, got ", mask.describe());
  Shape s = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  ASR_CHECK(s == x.shape(), "masked_fill", "mask ", mask.describe(), " does not broadcast to ",
            x.describe());
  return where(mask, Tensor::full({}, value, x.dtype(), x.device()), x);
}

}  // namespace asr::ops

namespace asr {
Tensor operator+(const Tensor& a, const Tensor& b) { return ops::add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return ops::sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return ops::mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return ops::div(a, b); }
Tensor operator*(const Tensor& a, double s) { return ops::scale(a, s); }
Tensor operator*(double s, const Tensor& a) { return ops::scale(a, s); }
Tensor operator-(const Tensor& a) { return ops::neg(a); }
}  // namespace asr
