// pad and concat: built from zero-copy narrow views plus Backend::copy/fill.
#include <array>

#include "asr/ops/ops.h"
#include "op_utils.h"

namespace asr::ops {

using autograd::Node;
using autograd::record_fn;

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  ASR_CHECK(pads.size() % 2 == 0 && static_cast<int64_t>(pads.size()) <= 2 * x.dim(), "pad",
            "needs (before, after) pairs for at most ", x.dim(), " dims of ", x.describe(),
            ", got ", pads.size(), " values");
  Shape out_shape = x.shape();
  // Region of x kept (src) and where it lands in the output (dst), per padded dim.
  Tensor src = x.detach();
  std::vector<std::array<int64_t, 3>> dst_ranges;  // dim, start, length
  for (size_t i = 0; i < pads.size() / 2; ++i) {
    int64_t d = x.dim() - 1 - static_cast<int64_t>(i);
    int64_t before = pads[2 * i], after = pads[2 * i + 1];
    int64_t n = x.shape()[d];
    out_shape[d] = n + before + after;
    ASR_CHECK(out_shape[d] >= 0, "pad", "padding (", before, ", ", after, ") makes dim ", d, " of ",
              x.describe(), " negative");
    int64_t src_start = before < 0 ? -before : 0;
    int64_t src_len = std::max<int64_t>(0, n - src_start - (after < 0 ? -after : 0));
    src = src.narrow(d, src_start, src_len);
    dst_ranges.push_back({d, before > 0 ? before : 0, src_len});
  }
  Tensor out = Tensor::full(out_shape, value, x.dtype(), x.device());
  Tensor dst = out;
  for (auto& r : dst_ranges) dst = dst.narrow(r[0], r[1], r[2]);
  if (src.numel() > 0) detail::be(x).copy(src, dst);
  Shape in_shape = x.shape();
  std::vector<int64_t> neg_pads(pads.size());
  for (size_t i = 0; i < pads.size(); ++i) neg_pads[i] = -pads[i];
  return record_fn(out, "pad", {&x}, [neg_pads](const Tensor& g, const Node&) {
    return std::vector<Tensor>{pad(g, neg_pads, 0.0)};  // cropping is the adjoint of padding
  });
}

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  ASR_CHECK(!xs.empty(), "concat", "needs at least one tensor");
  const Tensor& ref = xs[0];
  int64_t d = wrap_dim(dim, ref.dim(), "concat");
  Shape out_shape = ref.shape();
  out_shape[d] = 0;
  for (const Tensor& t : xs) {
    ASR_CHECK(t.dim() == ref.dim() && t.dtype() == ref.dtype() && t.device() == ref.device(),
              "concat", "tensors must share rank, dtype and device: ", ref.describe(), " and ",
              t.describe());
    for (int64_t i = 0; i < t.dim(); ++i)
      ASR_CHECK(i == d || t.shape()[i] == ref.shape()[i], "concat", "sizes differ outside dim ", d,
                ": ", ref.describe(), " and ", t.describe());
    out_shape[d] += t.shape()[d];
  }
  Tensor out = Tensor::empty(out_shape, ref.dtype(), ref.device());
  std::vector<int64_t> sizes;
  int64_t at = 0;
  bool any_grad = false;
  for (const Tensor& t : xs) {
    Tensor dst = out.narrow(d, at, t.shape()[d]);
    detail::be(t).copy(t, dst);
    at += t.shape()[d];
    sizes.push_back(t.shape()[d]);
    any_grad = any_grad || t.requires_grad();
  }
  if (!any_grad || !autograd::grad_enabled()) return out;
  // A variadic node: one edge per input.
  auto node = std::make_shared<autograd::FunctionNode>(
      "concat", [sizes, d](const Tensor& g, const Node& n) {
        std::vector<Tensor> grads(sizes.size());
        int64_t off = 0;
        for (size_t i = 0; i < sizes.size(); ++i) {
          if (n.needs_grad(i)) grads[i] = g.narrow(d, off, sizes[i]).contiguous();
          off += sizes[i];
        }
        return grads;
      });
  std::vector<const Tensor*> inputs;
  for (const Tensor& t : xs) inputs.push_back(&t);
  autograd::record(out, node, inputs);
  return out;
}

}  // namespace asr::ops
