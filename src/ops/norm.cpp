// layer_norm and batch_norm: checks, the forward kernel, and a backward that computes only the
// gradients the graph needs.
#include "asr/ops/ops.h"
#include "op_utils.h"

namespace asr::ops {

using autograd::Node;
using autograd::record_fn;
using detail::be;

namespace {

// weight/bias of a normalisation must be 1-D of size n (or undefined).
void check_param(const char* op, const char* what, const Tensor& p, int64_t n, const Tensor& x) {
  if (!p.defined()) return;
  ASR_CHECK(p.dim() == 1 && p.shape()[0] == n, op, what, " must be [", n, "] for input ",
            x.describe(), ", got ", p.describe());
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  detail::check_float_same_dtype("layer_norm", {&x, &weight, &bias});
  ASR_CHECK(x.dim() >= 1 && x.shape().back() > 0, "layer_norm",
            "input needs a non-empty last dim, got ", x.describe());
  ASR_CHECK(eps >= 0, "layer_norm", "eps must be >= 0, got ", eps);
  const int64_t n = x.shape().back();
  check_param("layer_norm", "weight", weight, n, x);
  check_param("layer_norm", "bias", bias, n, x);

  Tensor x_c = x.detach().contiguous();
  const int64_t rows = x.numel() / n;
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mean = Tensor::empty({rows}, x.dtype(), x.device());
  Tensor rstd = Tensor::empty({rows}, x.dtype(), x.device());
  Tensor w = weight.defined() ? weight.detach() : Tensor();
  Tensor b = bias.defined() ? bias.detach() : Tensor();
  be(x).layer_norm(x_c, w, b, eps, y, mean, rstd);
  if (!autograd::any_requires_grad({&x, &weight, &bias})) return y;

  // gx needs the weight; gweight needs x, mean, rstd (gbias needs only gy, but x is a view).
  Tensor sw = x.requires_grad() ? w : Tensor();
  return record_fn(y, "layer_norm", {&x, &weight, &bias},
                   [x_c, sw, mean, rstd](const Tensor& g, const Node& node) {
                     Tensor gy = g.contiguous();
                     Tensor gx, gw, gb;
                     if (node.needs_grad(0)) gx = detail::empty_like(x_c);
                     if (node.needs_grad(1)) gw = Tensor::empty({x_c.shape().back()}, x_c.dtype(), x_c.device());
                     if (node.needs_grad(2)) gb = Tensor::empty({x_c.shape().back()}, x_c.dtype(), x_c.device());
                     be(gy).layer_norm_backward(gy, x_c, sw, mean, rstd, gx, gw, gb);
                     return std::vector<Tensor>{gx, gw, gb};
                   });
}

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                  Tensor running_mean, Tensor running_var, bool training, double momentum,
                  double eps) {
  const char* op = "batch_norm";
  detail::check_float_same_dtype(op, {&x, &weight, &bias, &running_mean, &running_var});
  ASR_CHECK(x.dim() == 2 || x.dim() == 3, op, "input must be [N, C] or [N, C, L], got ",
            x.describe());
  ASR_CHECK(eps >= 0, op, "eps must be >= 0, got ", eps);
  const int64_t N = x.shape()[0], C = x.shape()[1], L = x.dim() == 3 ? x.shape()[2] : 1;
  check_param(op, "weight", weight, C, x);
  check_param(op, "bias", bias, C, x);
  check_param(op, "running_mean", running_mean, C, x);
  check_param(op, "running_var", running_var, C, x);
  ASR_CHECK(running_mean.defined() == running_var.defined(), op,
            "running_mean and running_var must be given together, got ",
            detail::shapes_str({&running_mean, &running_var}));
  for (const Tensor* r : {&running_mean, &running_var}) {
    if (!r->defined()) continue;
    // Running stats are buffers updated in place: never part of the graph.
    ASR_CHECK(!r->requires_grad(), op, "running stats must not require grad, got ", r->describe());
    // Inference only reads them, so frozen (read-only, e.g. mmap'd) stats are fine there.
    ASR_CHECK(!training || !r->read_only(), op, "running stats are updated in place but ",
              r->describe(), " is read-only");
  }
  if (training) {
    ASR_CHECK(N * L > 1, op, "training needs more than 1 value per channel, got input ",
              x.describe());
  } else {
    ASR_CHECK(running_mean.defined(), op, "inference mode needs running_mean and running_var");
  }

  Tensor x_c = x.detach().contiguous().view({N, C, L});
  Tensor y = Tensor::empty({N, C, L}, x.dtype(), x.device());
  Tensor mean = Tensor::empty({C}, x.dtype(), x.device());
  Tensor invstd = Tensor::empty({C}, x.dtype(), x.device());
  Tensor w = weight.defined() ? weight.detach() : Tensor();
  Tensor b = bias.defined() ? bias.detach() : Tensor();
  // The kernel writes the running stats (training) through their storage: no autograd.
  Tensor rm = running_mean.defined() ? running_mean.detach() : Tensor();
  Tensor rv = running_var.defined() ? running_var.detach() : Tensor();
  be(x).batch_norm(x_c, w, b, rm, rv, training, momentum, eps, y, mean, invstd);
  y = y.view(x.shape());
  if (!autograd::any_requires_grad({&x, &weight, &bias})) return y;

  Tensor sw = x.requires_grad() ? w : Tensor();
  Shape xs = x.shape();
  return record_fn(y, op, {&x, &weight, &bias},
                   [x_c, sw, mean, invstd, training, xs](const Tensor& g, const Node& node) {
                     Tensor gy = g.contiguous().view(x_c.shape());
                     Tensor gx, gw, gb;
                     if (node.needs_grad(0)) gx = detail::empty_like(x_c);
                     if (node.needs_grad(1)) gw = Tensor::empty({x_c.shape()[1]}, x_c.dtype(), x_c.device());
                     if (node.needs_grad(2)) gb = Tensor::empty({x_c.shape()[1]}, x_c.dtype(), x_c.device());
                     be(gy).batch_norm_backward(gy, x_c, sw, mean, invstd, training, gx, gw, gb);
                     if (gx.defined()) gx = gx.view(xs);
                     return std::vector<Tensor>{gx, gw, gb};
                   });
}

}  // namespace asr::ops
