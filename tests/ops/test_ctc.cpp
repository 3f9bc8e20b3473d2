// ctc_loss: nll vs brute-force enumeration of all alignments, gradchecks, reductions,
// zero_infinity, edge cases (repeats, empty targets, zero-length input) and bad inputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "asr/ops/ops.h"
#include "support/gradcheck.h"

using namespace asr;
using ::testing::HasSubstr;

namespace {

// -log sum over all V^Tb paths whose collapse (merge repeats, drop blanks) equals target.
double brute_force_nll(const std::vector<double>& lp, int64_t V, int64_t Tb,
                       const std::vector<int64_t>& target, int64_t blank) {
  double total = 0;
  std::vector<int64_t> path(static_cast<size_t>(Tb), 0);
  while (true) {
    std::vector<int64_t> collapsed;
    int64_t prev = -1;
    double logp = 0;
    for (int64_t t = 0; t < Tb; ++t) {
      const int64_t k = path[t];
      logp += lp[t * V + k];
      if (k != prev && k != blank) collapsed.push_back(k);
      prev = k;
    }
    if (collapsed == target) total += std::exp(logp);
    int64_t t = 0;  // next path (odometer)
    for (; t < Tb; ++t) {
      if (++path[t] < V) break;
      path[t] = 0;
    }
    if (t == Tb) break;
  }
  return -std::log(total);
}

// Rows of a [B, T, V] tensor normalised with a log_softmax written from basic ops (independent
// of the softmax op).
Tensor normalise(const Tensor& x) {
  return ops::sub(x, ops::log(ops::sum(ops::exp(x), {-1}, true)));
}

Tensor i64(const std::vector<int64_t>& v, const Shape& s) { return Tensor::from_vector(v, s); }

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

// A small batch covering repeats, an empty target, a short input and a blank that is not 0.
struct Batch {
  int64_t B = 5, T = 5, V = 4, S = 3, blank = 2;
  Tensor targets = i64({0, 1, 3,   // distinct labels
                        1, 1, 0,   // repeated label: needs a blank between the 1s
                        3, 0, 0,   // target length 1 (padding after)
                        0, 0, 0,   // empty target
                        3, 3, 0},  // length-2 repeat with a short input
                       {5, 3});
  Tensor input_lengths = i64({5, 5, 4, 3, 4}, {5});
  Tensor target_lengths = i64({3, 2, 1, 0, 2}, {5});
};

std::vector<double> brute_force_batch(const Batch& bt, const Tensor& lp) {
  std::vector<double> v = lp.to_vector(), out;
  auto tg = bt.targets.to_vector(), il = bt.input_lengths.to_vector(),
       tl = bt.target_lengths.to_vector();
  for (int64_t b = 0; b < bt.B; ++b) {
    std::vector<int64_t> target;
    for (int64_t s = 0; s < tl[b]; ++s) target.push_back(static_cast<int64_t>(tg[b * bt.S + s]));
    std::vector<double> lpb(v.begin() + b * bt.T * bt.V, v.begin() + (b + 1) * bt.T * bt.V);
    out.push_back(brute_force_nll(lpb, bt.V, static_cast<int64_t>(il[b]), target, bt.blank));
  }
  return out;
}

}  // namespace

TEST(CtcLoss, MatchesBruteForce) {
  Batch bt;
  Generator gen(31);
  for (bool normalised : {true, false}) {
    Tensor lp = Tensor::randn({bt.B, bt.T, bt.V}, gen, 1.0, DType::F64);
    if (normalised) lp = normalise(lp);
    Tensor loss = ops::ctc_loss(lp, bt.targets, bt.input_lengths, bt.target_lengths, bt.blank,
                                ops::CtcReduction::None, false);
    ASSERT_EQ(loss.shape(), Shape({bt.B}));
    auto ref = brute_force_batch(bt, lp);
    auto got = loss.to_vector();
    for (int64_t b = 0; b < bt.B; ++b) EXPECT_NEAR(got[b], ref[b], 1e-10) << "utterance " << b;
    // f32 agrees to float precision.
    auto got32 = ops::ctc_loss(lp.to(DType::F32), bt.targets, bt.input_lengths,
                               bt.target_lengths, bt.blank, ops::CtcReduction::None, false)
                     .to_vector();
    for (int64_t b = 0; b < bt.B; ++b) EXPECT_NEAR(got32[b], ref[b], 1e-5 * (1 + std::fabs(ref[b])));
  }
}

TEST(CtcLoss, BlankZeroAndLastAndStridedInput) {
  Generator gen(32);
  for (int64_t blank : {0, 3}) {
    SCOPED_TRACE(blank);
    const int64_t lab = blank == 0 ? 1 : 0;
    Tensor targets = i64({lab, 2, lab, 2, 2, 0}, {2, 3});
    Tensor il = i64({6, 5}, {2}), tl = i64({3, 2}, {2});
    Tensor lp = test::random_leaf({2, 6, 4}, gen, true).detach();  // strided
    ASSERT_FALSE(lp.is_contiguous());
    auto got = ops::ctc_loss(lp, targets, il, tl, blank, ops::CtcReduction::None, false).to_vector();
    auto v = lp.to_vector();
    std::vector<double> lp0(v.begin(), v.begin() + 24), lp1(v.begin() + 24, v.end());
    EXPECT_NEAR(got[0], brute_force_nll(lp0, 4, 6, {lab, 2, lab}, blank), 1e-10);
    EXPECT_NEAR(got[1], brute_force_nll(lp1, 4, 5, {2, 2}, blank), 1e-10);
  }
}

TEST(CtcLoss, ZeroLengthInputAndEmptyTargets) {
  Tensor lp = normalise(Tensor::zeros({3, 2, 3}, DType::F64));
  // S = 0: every target is empty.
  Tensor none = Tensor::zeros({3, 0}, DType::I64);
  Tensor il = i64({2, 0, 1}, {3}), tl0 = i64({0, 0, 0}, {3});
  auto got = ops::ctc_loss(lp, none, il, tl0, 0, ops::CtcReduction::None, false).to_vector();
  EXPECT_NEAR(got[0], 2 * std::log(3.0), 1e-12);  // all-blank path, p = 1/3 per frame
  EXPECT_EQ(got[1], 0.0);                         // empty input, empty target: probability 1
  EXPECT_NEAR(got[2], std::log(3.0), 1e-12);
  // Empty input with a non-empty target is infeasible.
  Tensor tg = i64({1, 1, 1}, {3, 1});
  auto inf = ops::ctc_loss(lp, tg, il, i64({1, 1, 0}, {3}), 0, ops::CtcReduction::None, false)
                 .to_vector();
  EXPECT_TRUE(std::isinf(inf[1]) && inf[1] > 0);
  EXPECT_NEAR(inf[2], std::log(3.0), 1e-12);
}

TEST(CtcLoss, GradcheckWrtLogProbsLeaf) {
  Batch bt;
  Generator gen(33);
  for (bool strided : {false, true}) {
    SCOPED_TRACE(strided ? "strided" : "contiguous");
    // The analytic derivative is exact for any log_probs, normalised or not.
    Tensor lp = test::random_leaf({bt.B, bt.T, bt.V}, gen, strided, -2.0, 0.0);
    for (auto red : {ops::CtcReduction::None, ops::CtcReduction::Sum}) {
      EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) {
        return ops::ctc_loss(in[0], bt.targets, bt.input_lengths, bt.target_lengths, bt.blank,
                             red, false);
      }, std::vector<Tensor>({lp}));
    }
  }
}

TEST(CtcLoss, GradcheckThroughLogSoftmax) {
  Batch bt;
  Generator gen(34);
  for (bool strided : {false, true}) {
    SCOPED_TRACE(strided ? "strided" : "contiguous");
    Tensor logits = test::random_leaf({bt.B, bt.T, bt.V}, gen, strided, -2.0, 2.0);
    for (auto red : {ops::CtcReduction::MeanBatch, ops::CtcReduction::MeanVolume}) {
      EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) {
        return ops::ctc_loss(normalise(in[0]), bt.targets, bt.input_lengths, bt.target_lengths,
                             bt.blank, red, false);
      }, std::vector<Tensor>({logits}));
    }
  }
}

TEST(CtcLoss, OccupancyGradientStructure) {
  Batch bt;
  Generator gen(35);
  Tensor lp = normalise(Tensor::randn({bt.B, bt.T, bt.V}, gen, 1.0, DType::F64)).detach();
  lp.set_requires_grad(true);
  ops::ctc_loss(lp, bt.targets, bt.input_lengths, bt.target_lengths, bt.blank,
                ops::CtcReduction::Sum, false).backward();
  // d nll / d lp = -occupancy: each frame inside the input sums to -1, frames past it are 0.
  auto g = lp.grad().to_vector();
  auto il = bt.input_lengths.to_vector();
  for (int64_t b = 0; b < bt.B; ++b)
    for (int64_t t = 0; t < bt.T; ++t) {
      double s = 0;
      for (int64_t v = 0; v < bt.V; ++v) s += g[(b * bt.T + t) * bt.V + v];
      EXPECT_NEAR(s, t < il[b] ? -1.0 : 0.0, 1e-12) << "b " << b << " t " << t;
    }
  // Deterministic: a second run is bitwise identical.
  Tensor g1 = lp.grad();
  lp.zero_grad();
  ops::ctc_loss(lp, bt.targets, bt.input_lengths, bt.target_lengths, bt.blank,
                ops::CtcReduction::Sum, false).backward();
  EXPECT_TRUE(test::bitwise_equal(g1, lp.grad()));
}

TEST(CtcLoss, Reductions) {
  Batch bt;
  Generator gen(36);
  Tensor lp = normalise(Tensor::randn({bt.B, bt.T, bt.V}, gen, 1.0, DType::F64));
  auto run = [&](ops::CtcReduction r) {
    return ops::ctc_loss(lp, bt.targets, bt.input_lengths, bt.target_lengths, bt.blank, r, false);
  };
  auto per = run(ops::CtcReduction::None).to_vector();
  double sum = 0;
  for (double v : per) sum += v;
  Tensor s = run(ops::CtcReduction::Sum);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_NEAR(s.item(), sum, 1e-12);
  EXPECT_NEAR(run(ops::CtcReduction::MeanBatch).item(), sum / bt.B, 1e-12);
  EXPECT_NEAR(run(ops::CtcReduction::MeanVolume).item(), sum / (3 + 2 + 1 + 0 + 2), 1e-12);

  // Gradients scale accordingly.
  auto grad_of = [&](ops::CtcReduction r) {
    Tensor leaf = lp.detach().clone();
    leaf.set_requires_grad(true);
    ops::ctc_loss(leaf, bt.targets, bt.input_lengths, bt.target_lengths, bt.blank, r, false)
        .backward();
    return leaf.grad().to_vector();
  };
  auto gs = grad_of(ops::CtcReduction::Sum), gb = grad_of(ops::CtcReduction::MeanBatch),
       gv = grad_of(ops::CtcReduction::MeanVolume);
  for (size_t i = 0; i < gs.size(); ++i) {
    EXPECT_NEAR(gb[i], gs[i] / bt.B, 1e-14);
    EXPECT_NEAR(gv[i], gs[i] / 8.0, 1e-14);
  }
}

TEST(CtcLoss, ZeroInfinity) {
  // Utterance 1 is infeasible: "1 1" needs 3 frames, it has 2.
  Generator gen(37);
  Tensor lp = normalise(Tensor::randn({2, 4, 3}, gen, 1.0, DType::F64)).detach();
  Tensor tg = i64({1, 2, 1, 1}, {2, 2});
  Tensor il = i64({4, 2}, {2}), tl = i64({2, 2}, {2});
  auto plain = ops::ctc_loss(lp, tg, il, tl, 0, ops::CtcReduction::None, false).to_vector();
  EXPECT_TRUE(std::isfinite(plain[0]));
  EXPECT_TRUE(std::isinf(plain[1]));
  EXPECT_TRUE(std::isinf(ops::ctc_loss(lp, tg, il, tl, 0, ops::CtcReduction::Sum, false).item()));

  for (auto red : {ops::CtcReduction::None, ops::CtcReduction::Sum, ops::CtcReduction::MeanBatch,
                   ops::CtcReduction::MeanVolume}) {
    Tensor leaf = lp.clone();
    leaf.set_requires_grad(true);
    Tensor loss = ops::ctc_loss(leaf, tg, il, tl, 0, red, true);
    auto lv = loss.to_vector();
    for (double v : lv) EXPECT_TRUE(std::isfinite(v));
    if (red == ops::CtcReduction::None) {
      EXPECT_EQ(lv[1], 0.0);
      EXPECT_DOUBLE_EQ(lv[0], plain[0]);
    }
    if (red == ops::CtcReduction::MeanBatch) EXPECT_DOUBLE_EQ(lv[0], plain[0] / 2);
    if (red == ops::CtcReduction::MeanVolume) EXPECT_DOUBLE_EQ(lv[0], plain[0] / 4);
    ops::sum(loss).backward();
    auto g = leaf.grad().to_vector();
    double g0 = 0;
    for (size_t i = 0; i < 12; ++i) g0 += std::fabs(g[i]);
    EXPECT_GT(g0, 0.0);
    for (size_t i = 12; i < 24; ++i) EXPECT_EQ(g[i], 0.0) << i;  // infeasible utterance
  }
}

TEST(CtcLoss, AcceptsI32TargetsAndLengths) {
  Batch bt;
  Generator gen(38);
  Tensor lp = normalise(Tensor::randn({bt.B, bt.T, bt.V}, gen, 1.0, DType::F64));
  auto a = ops::ctc_loss(lp, bt.targets, bt.input_lengths, bt.target_lengths, bt.blank,
                         ops::CtcReduction::None, false);
  auto b = ops::ctc_loss(lp, bt.targets.to(DType::I32), bt.input_lengths.to(DType::I32),
                         bt.target_lengths.to(DType::I32), bt.blank, ops::CtcReduction::None,
                         false);
  EXPECT_TRUE(test::bitwise_equal(a, b));
}

TEST(CtcLoss, BadInputs) {
  Tensor lp = Tensor::zeros({2, 4, 3});
  Tensor tg = i64({1, 2, 1, 0}, {2, 2});
  Tensor il = i64({4, 4}, {2}), tl = i64({2, 1}, {2});
  auto call = [&](const Tensor& l, const Tensor& t, const Tensor& i, const Tensor& s,
                  int64_t blank = 0) {
    return error_of([&] { ops::ctc_loss(l, t, i, s, blank, ops::CtcReduction::Sum, false); });
  };
  std::string m = call(Tensor::zeros({4, 3}), tg, il, tl);
  EXPECT_THAT(m, HasSubstr("ctc_loss"));
  EXPECT_THAT(m, HasSubstr("[4, 3]"));
  // Target equal to blank, out of range, negative.
  m = call(lp, i64({1, 2, 0, 0}, {2, 2}), il, i64({2, 1}, {2}));
  EXPECT_THAT(m, HasSubstr("ctc_loss"));
  EXPECT_THAT(m, HasSubstr("utterance 1"));
  EXPECT_THAT(call(lp, i64({1, 3, 1, 0}, {2, 2}), il, tl), HasSubstr("utterance 0"));
  EXPECT_THAT(call(lp, i64({1, -1, 1, 0}, {2, 2}), il, tl), HasSubstr("ctc_loss"));
  // Lengths out of range.
  EXPECT_THAT(call(lp, tg, i64({5, 4}, {2}), tl), HasSubstr("input_lengths[0]"));
  EXPECT_THAT(call(lp, tg, i64({4, -1}, {2}), tl), HasSubstr("input_lengths[1]"));
  EXPECT_THAT(call(lp, tg, il, i64({2, 3}, {2})), HasSubstr("target_lengths[1]"));
  // Shapes and dtypes.
  EXPECT_THAT(call(lp, i64({1, 2}, {1, 2}), il, tl), HasSubstr("targets"));
  EXPECT_THAT(call(lp, tg, i64({4, 4, 4}, {3}), tl), HasSubstr("input_lengths"));
  EXPECT_THAT(call(lp, tg.to(DType::F32), il, tl), HasSubstr("targets"));
  EXPECT_THAT(call(lp, tg, il.to(DType::F32), tl), HasSubstr("input_lengths"));
  EXPECT_THAT(call(Tensor::zeros({2, 4, 3}, DType::I64), tg, il, tl), HasSubstr("ctc_loss"));
  EXPECT_THAT(call(lp, tg, il, tl, 3), HasSubstr("blank"));
  EXPECT_THROW(ops::ctc_loss(lp, tg, il, i64({2, 3}, {2}), 0, ops::CtcReduction::None, false),
               Error);
}

TEST(CtcLoss, ParallelBatchMatchesSingleUtterances) {
  // Large enough for the kernel's parallel path; each utterance alone runs serially.
  const int64_t B = 6, T = 100, V = 5, S = 15;
  Generator gen(39);
  Tensor lp = normalise(Tensor::randn({B, T, V}, gen, 1.0, DType::F64)).detach();
  lp.set_requires_grad(true);
  std::vector<int64_t> tg, il, tl;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t s = 0; s < S; ++s) tg.push_back(1 + (b * 7 + s * 3) % (V - 1));
    il.push_back(T - 7 * b);
    tl.push_back(S - 2 * b);
  }
  Tensor targets = i64(tg, {B, S});
  ops::ctc_loss(lp, targets, i64(il, {B}), i64(tl, {B}), 0, ops::CtcReduction::Sum, false)
      .backward();
  Tensor losses = ops::ctc_loss(lp.detach(), targets, i64(il, {B}), i64(tl, {B}), 0,
                                ops::CtcReduction::None, false);
  for (int64_t b = 0; b < B; ++b) {
    Tensor one = lp.detach().narrow(0, b, 1).clone();
    one.set_requires_grad(true);
    Tensor l = ops::ctc_loss(one, targets.narrow(0, b, 1).contiguous(), i64({il[b]}, {1}),
                             i64({tl[b]}, {1}), 0, ops::CtcReduction::Sum, false);
    EXPECT_EQ(l.item(), losses.to_vector()[b]) << b;
    l.backward();
    EXPECT_TRUE(test::bitwise_equal(one.grad(), lp.grad().narrow(0, b, 1))) << b;
  }
}
