// conv1d / conv2d ops: argument checks, output allocation, kernel call and autograd wiring.
// Both share one implementation parameterised by the input rank (3 or 4).
#include "asr/ops/ops.h"
#include "op_utils.h"

namespace asr::ops {

using autograd::Node;
using detail::be;

namespace {

// Checks the arguments and returns the output shape.
Shape conv_output_shape(const char* op, int64_t rank, const Tensor& x, const Tensor& w,
                        const Tensor& bias, int64_t stride, int64_t padding, int64_t groups) {
  const char* layout = rank == 3 ? "[N, Cin, L]" : "[N, Cin, H, W]";
  const char* wlayout = rank == 3 ? "[Cout, Cin/groups, K]" : "[Cout, Cin/groups, KH, KW]";
  ASR_CHECK(x.dim() == rank, op, "input must be ", layout, ", got ", x.describe());
  ASR_CHECK(w.dim() == rank, op, "weight must be ", wlayout, ", got ", w.describe());
  detail::check_float_same_dtype(op, {&x, &w, &bias});
  ASR_CHECK(stride >= 1 && padding >= 0 && groups >= 1, op, "needs stride >= 1, padding >= 0, ",
            "groups >= 1, got stride ", stride, ", padding ", padding, ", groups ", groups);
  const int64_t cin = x.size(1), cout = w.size(0);
  ASR_CHECK(cin % groups == 0 && cout % groups == 0, op, "groups ", groups,
            " must divide input channels and output channels: input ", x.describe(),
            ", weight ", w.describe());
  ASR_CHECK(w.size(1) == cin / groups, op, "weight ", w.describe(), " expects ",
            w.size(1) * groups, " input channels (groups ", groups, "), input is ", x.describe());
  if (bias.defined())
    ASR_CHECK(bias.dim() == 1 && bias.size(0) == cout, op, "bias must be [", cout, "], got ",
              bias.describe(), " for weight ", w.describe());
  Shape out = {x.size(0), cout};
  for (int64_t d = 2; d < rank; ++d) {
    const int64_t in = x.size(d), k = w.size(d);
    ASR_CHECK(k >= 1, op, "kernel sizes must be >= 1, weight ", w.describe());
    ASR_CHECK(in + 2 * padding >= k, op, "kernel ", w.describe(), " is larger than the padded input ",
              x.describe(), " (padding ", padding, ")");
    out.push_back((in + 2 * padding - k) / stride + 1);
  }
  return out;
}

Tensor conv_nd(const char* op, int64_t rank, const Tensor& x, const Tensor& weight,
               const Tensor& bias, int64_t stride, int64_t padding, int64_t groups) {
  Shape out_shape = conv_output_shape(op, rank, x, weight, bias, stride, padding, groups);
  // Kernels need contiguous x and weight; the copies carry no autograd history (the node below
  // is wired to the original tensors).
  Tensor xc = x.detach().contiguous();
  Tensor wc = weight.detach().contiguous();
  Tensor bd = bias.defined() ? bias.detach() : Tensor();
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  if (rank == 3)
    be(x).conv1d(xc, wc, bd, stride, padding, groups, y);
  else
    be(x).conv2d(xc, wc, bd, stride, padding, groups, y);
  if (!autograd::any_requires_grad({&x, &weight, &bias})) return y;

  // dW needs x, dX needs W: save each only when the other side is trained (a frozen weight
  // keeps no activation alive and costs no dW work).
  Tensor sx = weight.requires_grad() ? xc : Tensor();
  Tensor sw = x.requires_grad() ? wc : Tensor();
  Shape xs = x.shape(), ws = weight.shape();
  return autograd::record_fn(
      y, op, {&x, &weight, &bias},
      [rank, sx, sw, xs, ws, stride, padding, groups](const Tensor& g, const Node& n) {
        Tensor gy = g.contiguous();
        Tensor gx = n.needs_grad(0) ? Tensor::empty(xs, g.dtype(), g.device()) : Tensor();
        Tensor gw = n.needs_grad(1) ? Tensor::empty(ws, g.dtype(), g.device()) : Tensor();
        Tensor gb = n.needs_grad(2) ? Tensor::empty({ws[0]}, g.dtype(), g.device()) : Tensor();
        if (rank == 3)
          be(g).conv1d_backward(gy, sx, sw, stride, padding, groups, gx, gw, gb);
        else
          be(g).conv2d_backward(gy, sx, sw, stride, padding, groups, gx, gw, gb);
        return std::vector<Tensor>{gx, gw, gb};
      });
}

}  // namespace

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride,
              int64_t padding, int64_t groups) {
  return conv_nd("conv1d", 3, x, weight, bias, stride, padding, groups);
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride,
              int64_t padding, int64_t groups) {
  return conv_nd("conv2d", 4, x, weight, bias, stride, padding, groups);
}

}  // namespace asr::ops
