#include "support/gradcheck.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "asr/autograd/node.h"
#include "asr/ops/ops.h"

namespace asr::test {

std::string gradcheck(const TensorFn& fn, const std::vector<Tensor>& inputs,
                      const GradcheckOptions& opt) {
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad() && t.dtype() != DType::F64)
      return "gradcheck: inputs must be f64, got " + t.describe();
  }
  // Fixed random projection of the output.
  Tensor out0;
  {
    autograd::NoGradGuard ng;
    out0 = fn(inputs);
  }
  Generator gen(opt.seed);
  Tensor proj = Tensor::randn(out0.shape(), gen, 1.0, DType::F64);
  auto scalar = [&](const std::vector<Tensor>& in) { return ops::sum(ops::mul(fn(in), proj)); };

  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) const_cast<Tensor&>(t).zero_grad();
  Tensor loss = scalar(inputs);
  loss.backward();

  std::ostringstream err;
  double worst = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.defined() || !x.requires_grad()) continue;
    Tensor g = x.grad();
    std::vector<double> analytic =
        g.defined() ? g.to_vector() : std::vector<double>(static_cast<size_t>(x.numel()), 0.0);
    // Perturb element i of the (possibly strided) view in place through its storage.
    const Shape& shp = x.shape();
    const Shape& st = x.strides();
    int64_t n = x.numel();
    double* base = static_cast<double*>(x.impl()->storage->data()) + x.offset();
    for (int64_t i = 0; i < n; ++i) {
      int64_t rem = i, off = 0;
      for (size_t d = shp.size(); d-- > 0;) {
        off += (rem % shp[d]) * st[d];
        rem /= shp[d];
      }
      double saved = base[off];
      double fp, fm;
      {
        autograd::NoGradGuard ng;
        base[off] = saved + opt.eps;
        fp = scalar(inputs).item();
        base[off] = saved - opt.eps;
        fm = scalar(inputs).item();
        base[off] = saved;
      }
      double numeric = (fp - fm) / (2 * opt.eps);
      double diff = std::fabs(numeric - analytic[i]);
      double tol = opt.atol + opt.rtol * std::fabs(numeric);
      if (diff > tol && diff - tol > worst) {
        worst = diff - tol;
        err.str("");
        err << "gradcheck: input " << k << " " << x.describe() << " element " << i
            << ": analytic " << analytic[i] << " vs numeric " << numeric << " (|diff| " << diff
            << ")";
      }
    }
  }
  return err.str();
}

Tensor random_leaf(const Shape& shape, Generator& gen, bool strided, double lo, double hi) {
  Tensor t;
  if (!strided || shape.empty()) {
    t = Tensor::rand(shape, gen, lo, hi, DType::F64);
  } else if (shape.size() >= 2) {
    // Allocate the transposed layout, then transpose back: same shape, non-unit inner stride.
    Shape sw = shape;
    std::swap(sw[sw.size() - 1], sw[sw.size() - 2]);
    Tensor buf = Tensor::rand(sw, gen, lo, hi, DType::F64);
    t = buf.transpose(-1, -2);
  } else {
    // 1-D: every other element of a buffer twice as long.
    Tensor buf = Tensor::rand({shape[0] * 2}, gen, lo, hi, DType::F64);
    t = make_view(buf, shape, {2}, 0);
  }
  t.set_requires_grad(true);
  return t;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    throw Error("max_abs_diff: shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()));
  std::vector<double> va = a.to_vector(), vb = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    double d = std::fabs(va[i] - vb[i]);
    if (std::isnan(d)) return INFINITY;
    m = std::max(m, d);
  }
  return m;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  Tensor ca = a.device().is_cpu() ? a.contiguous() : a.to(Device::cpu()).contiguous();
  Tensor cb = b.device().is_cpu() ? b.contiguous() : b.to(Device::cpu()).contiguous();
  return std::memcmp(ca.raw_data(), cb.raw_data(), ca.nbytes()) == 0;
}

}  // namespace asr::test
