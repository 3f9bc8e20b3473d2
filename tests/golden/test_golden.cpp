// Our ops in f32 against PyTorch references (computed in f64 from the same f32 inputs, see
// tools/make_golden.py). Tolerances: values 1e-5 absolute, gradients 1e-4 absolute, each plus a
// relative term of 1e-5 of the reference: f32 carries ~6e-8 relative error per operation, and a
// few fixtures (CTC losses of ~50 nats, conv sums over 31 taps) have magnitudes where 1e-5
// absolute alone would be below a few ulps of float32.
#include <gtest/gtest.h>

#include <string>

#include "asr/ops/ops.h"
#include "golden/golden_io.h"

using namespace asr;
using golden::Array;

namespace {

constexpr double kValAtol = 1e-5, kGradAtol = 1e-4, kRtol = 1e-5;

Tensor leaf(const Array& a) {
  Tensor t = a.f32();
  t.set_requires_grad(true);
  return t;
}

}  // namespace

TEST(Golden, FixturesRecordTorchVersion) {
  for (const char* f : {"softmax.h5", "layer_norm.h5", "conv1d_depthwise.h5", "conv2d.h5",
                        "batch_norm.h5", "ctc.h5"}) {
    golden::File file(f);
    EXPECT_NE(file.torch_version(), "unknown") << f;
  }
}

TEST(Golden, SoftmaxAndLogSoftmax) {
  golden::File f("softmax.h5");
  const Array gy = f.read("gy");
  for (std::string group : {"softmax_dim-1", "softmax_dim1", "log_softmax_dim-1", "log_softmax_dim1"}) {
    SCOPED_TRACE(group);
    const bool log = group.rfind("log_", 0) == 0;
    const int64_t dim = static_cast<int64_t>(f.attr(group, "dim"));
    Tensor x = leaf(f.read("x"));
    Tensor y = log ? ops::log_softmax(x, dim) : ops::softmax(x, dim);
    EXPECT_GOLDEN(y, f.read(group + "/y"), kValAtol, kRtol);
    y.backward(gy.f32());
    EXPECT_GOLDEN(x.grad(), f.read(group + "/gx"), kGradAtol, kRtol);
  }
}

TEST(Golden, LayerNorm) {
  golden::File f("layer_norm.h5");
  const double eps = f.attr("/", "eps");
  const Tensor gy = f.read("gy").f32();
  {
    Tensor x = leaf(f.read("x")), w = leaf(f.read("weight")), b = leaf(f.read("bias"));
    Tensor y = ops::layer_norm(x, w, b, eps);
    EXPECT_GOLDEN(y, f.read("affine/y"), kValAtol, kRtol);
    y.backward(gy);
    EXPECT_GOLDEN(x.grad(), f.read("affine/gx"), kGradAtol, kRtol);
    EXPECT_GOLDEN(w.grad(), f.read("affine/gweight"), kGradAtol, kRtol);
    EXPECT_GOLDEN(b.grad(), f.read("affine/gbias"), kGradAtol, kRtol);
  }
  {
    Tensor x = leaf(f.read("x"));
    Tensor y = ops::layer_norm(x, Tensor(), Tensor(), eps);
    EXPECT_GOLDEN(y, f.read("plain/y"), kValAtol, kRtol);
    y.backward(gy);
    EXPECT_GOLDEN(x.grad(), f.read("plain/gx"), kGradAtol, kRtol);
  }
}

namespace {

// One conv fixture group: value and the three gradients.
template <typename ConvFn>
void check_conv(const golden::File& f, const std::string& g, ConvFn conv) {
  SCOPED_TRACE(g);
  const auto stride = static_cast<int64_t>(f.attr(g, "stride"));
  const auto pad = static_cast<int64_t>(f.attr(g, "pad"));
  const auto groups = static_cast<int64_t>(f.attr(g, "groups"));
  Tensor x = leaf(f.read(g + "/x")), w = leaf(f.read(g + "/weight")), b = leaf(f.read(g + "/bias"));
  Tensor y = conv(x, w, b, stride, pad, groups);
  EXPECT_GOLDEN(y, f.read(g + "/y"), kValAtol, kRtol);
  y.backward(f.read(g + "/gy").f32());
  EXPECT_GOLDEN(x.grad(), f.read(g + "/gx"), kGradAtol, kRtol);
  EXPECT_GOLDEN(w.grad(), f.read(g + "/gweight"), kGradAtol, kRtol);
  EXPECT_GOLDEN(b.grad(), f.read(g + "/gbias"), kGradAtol, kRtol);
}

}  // namespace

TEST(Golden, Conv1dDepthwiseK31) {
  golden::File f("conv1d_depthwise.h5");
  check_conv(f, "depthwise", [](const Tensor& x, const Tensor& w, const Tensor& b, int64_t s,
                                int64_t p, int64_t g) { return ops::conv1d(x, w, b, s, p, g); });
}

TEST(Golden, Conv2dStride2) {
  golden::File f("conv2d.h5");
  auto conv = [](const Tensor& x, const Tensor& w, const Tensor& b, int64_t s, int64_t p,
                 int64_t g) { return ops::conv2d(x, w, b, s, p, g); };
  check_conv(f, "regular", conv);
  check_conv(f, "depthwise", conv);
}

TEST(Golden, BatchNorm) {
  golden::File f("batch_norm.h5");
  const double momentum = f.attr("/", "momentum"), eps = f.attr("/", "eps");
  for (std::string g : {"train3d", "train2d", "eval"}) {
    SCOPED_TRACE(g);
    const bool training = f.attr(g, "training") != 0;
    Tensor x = leaf(f.read(g + "/x")), w = leaf(f.read(g + "/weight")), b = leaf(f.read(g + "/bias"));
    Tensor rm = f.read(g + "/running_mean").f32(), rv = f.read(g + "/running_var").f32();
    Tensor y = ops::batch_norm(x, w, b, rm, rv, training, momentum, eps);
    EXPECT_GOLDEN(y, f.read(g + "/y"), kValAtol, kRtol);
    // Training updates the stats in place (unbiased variance); eval leaves them as they were.
    EXPECT_GOLDEN(rm, f.read(g + "/running_mean_out"), kValAtol, kRtol);
    EXPECT_GOLDEN(rv, f.read(g + "/running_var_out"), kValAtol, kRtol);
    y.backward(f.read(g + "/gy").f32());
    EXPECT_GOLDEN(x.grad(), f.read(g + "/gx"), kGradAtol, kRtol);
    EXPECT_GOLDEN(w.grad(), f.read(g + "/gweight"), kGradAtol, kRtol);
    EXPECT_GOLDEN(b.grad(), f.read(g + "/gbias"), kGradAtol, kRtol);
  }
}

// CTC through log_softmax. Gradients are compared with respect to the logits: torch's native
// CTC backward returns exp(log_probs) - occupancy, ours the exact -occupancy; both become
// softmax - occupancy after the log_softmax backward, so only logit gradients are comparable.
TEST(Golden, CtcLoss) {
  golden::File f("ctc.h5");
  for (std::string g : {"blank0", "blank_last", "zero_inf"}) {
    SCOPED_TRACE(g);
    const auto blank = static_cast<int64_t>(f.attr(g, "blank"));
    const bool zero_inf = f.attr(g, "zero_infinity") != 0;
    const Tensor targets = f.read(g + "/targets").i64();
    const Tensor il = f.read(g + "/input_lengths").i64();
    const Tensor tl = f.read(g + "/target_lengths").i64();
    const Array logits = f.read(g + "/logits");
    auto run = [&](const Tensor& x, ops::CtcReduction r) {
      return ops::ctc_loss(ops::log_softmax(x, -1), targets, il, tl, blank, r, zero_inf);
    };
    EXPECT_GOLDEN(run(logits.f32(), ops::CtcReduction::None), f.read(g + "/loss_none"), kValAtol, kRtol);
    const struct {
      ops::CtcReduction red;
      const char* name;
    } cases[] = {{ops::CtcReduction::Sum, "sum"},
                 {ops::CtcReduction::MeanBatch, "mean_batch"},
                 {ops::CtcReduction::MeanVolume, "mean_volume"}};
    for (const auto& c : cases) {
      SCOPED_TRACE(c.name);
      Tensor x = leaf(logits);
      Tensor loss = run(x, c.red);
      EXPECT_GOLDEN(loss, f.read(g + "/loss_" + c.name), kValAtol, kRtol);
      loss.backward();
      EXPECT_GOLDEN(x.grad(), f.read(g + "/grad_logits_" + c.name), kGradAtol, kRtol);
    }
  }
}
