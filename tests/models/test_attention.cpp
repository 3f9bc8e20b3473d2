// Relative-position attention pieces: rel_shift's index rule, the sinusoid table, and the
// attention's behaviour on masked keys.
#include <gtest/gtest.h>

#include <cmath>

#include "asr/autograd/node.h"
#include "asr/models/rel_pos_attention.h"
#include "asr/models/rel_pos_encoding.h"
#include "asr/ops/ops.h"
#include "support/gradcheck.h"

namespace asr {
namespace {

// NeMo's rel_shift written out literally: left-pad a zero column, reinterpret the [T, 2T] rows as
// [2T, T], drop the first row, reinterpret as [T, 2T-1], keep the first T columns.
std::vector<double> nemo_rel_shift(const std::vector<double>& x, int64_t t) {
  const int64_t p = 2 * t - 1;
  std::vector<double> padded;
  for (int64_t i = 0; i < t; ++i) {
    padded.push_back(0.0);
    for (int64_t j = 0; j < p; ++j) padded.push_back(x[i * p + j]);
  }
  std::vector<double> dropped(padded.begin() + t, padded.end());  // drop row 0 of [2T, T]
  std::vector<double> out;
  for (int64_t i = 0; i < t; ++i)
    for (int64_t j = 0; j < t; ++j) out.push_back(dropped[i * p + j]);
  return out;
}

TEST(RelShift, MatchesNemoPadViewAlgorithmAndRelativePositionRule) {
  Generator gen(5);
  for (int64_t t : {1, 2, 5, 8}) {
    Tensor x = Tensor::randn({2, 3, t, 2 * t - 1}, gen);
    Tensor y = models::rel_shift(x);
    ASSERT_EQ(y.shape(), (Shape{2, 3, t, t}));
    const std::vector<double> xv = x.to_vector(), yv = y.to_vector();
    for (int64_t bh = 0; bh < 6; ++bh) {
      std::vector<double> xs(xv.begin() + bh * t * (2 * t - 1), xv.begin() + (bh + 1) * t * (2 * t - 1));
      std::vector<double> want = nemo_rel_shift(xs, t);
      for (int64_t i = 0; i < t; ++i)
        for (int64_t j = 0; j < t; ++j) {
          const double got = yv[bh * t * t + i * t + j];
          EXPECT_EQ(got, want[i * t + j]) << "t " << t << " i " << i << " j " << j;
          // Column T-1-i+j of the positional scores holds relative position i - j.
          EXPECT_EQ(got, xs[i * (2 * t - 1) + (t - 1 - i + j)]);
        }
    }
  }
}

TEST(RelShift, PositionalScoresUseRelativePositionIMinusJ) {
  // bd = rel_shift((q + v) p^T) with p the rows of the position table for T-1 ... -(T-1): the
  // score of (i, j) must use the embedding of position i - j.
  const int64_t t = 6, d = 8;
  Generator gen(6);
  Tensor q = Tensor::randn({1, 1, t, d}, gen);
  Tensor pe = models::relative_position_table(t, d);  // [1, 2T-1, d]
  Tensor bd = models::rel_shift(ops::matmul(q, pe.unsqueeze(0).transpose(-2, -1)));
  const std::vector<double> qv = q.to_vector(), pv = pe.to_vector(), bv = bd.to_vector();
  for (int64_t i = 0; i < t; ++i)
    for (int64_t j = 0; j < t; ++j) {
      const int64_t rel = i - j, row = t - 1 - rel;  // the table row of position rel
      double naive = 0;
      for (int64_t c = 0; c < d; ++c) naive += qv[i * d + c] * pv[row * d + c];
      EXPECT_NEAR(bv[i * t + j], naive, 1e-5) << i << "," << j;
    }
}

TEST(RelShift, GradientMatchesFiniteDifferences) {
  Generator gen(7);
  Tensor x = test::random_leaf({2, 4, 7}, gen);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return ops::mul(models::rel_shift(in[0]), in[0].narrow(-1, 0, 4)); },
                   std::vector<Tensor>{x});
}

TEST(RelPositionTable, SinusoidsOfDescendingPositions) {
  const int64_t t = 4, d = 6;
  Tensor pe = models::relative_position_table(t, d);
  ASSERT_EQ(pe.shape(), (Shape{1, 7, 6}));
  const std::vector<double> v = pe.to_vector();
  for (int64_t r = 0; r < 2 * t - 1; ++r) {
    const double pos = static_cast<double>(t - 1 - r);
    for (int64_t i = 0; i < d / 2; ++i) {
      const double w = std::exp(-2.0 * i * std::log(10000.0) / d);
      EXPECT_NEAR(v[r * d + 2 * i], std::sin(pos * w), 1e-6);
      EXPECT_NEAR(v[r * d + 2 * i + 1], std::cos(pos * w), 1e-6);
    }
  }
}

TEST(RelPositionAttention, MaskedKeysHaveNoInfluenceAndMaskedQueriesGiveBias) {
  Generator init(8);
  auto drop = std::make_shared<Generator>(9);
  models::RelPositionMultiHeadAttention att(2, 8, 0.0, true, init, drop);
  // Give the Transformer-XL biases non-zero values so both score terms matter.
  for (auto& [name, p] : att.named_parameters())
    if (name.rfind("pos_bias", 0) == 0) {
      autograd::NoGradGuard ng;
      p.detach().copy_(Tensor::randn(p.shape(), init));
    }
  const int64_t t = 5, valid = 3;
  Tensor x = Tensor::randn({1, t, 8}, init);
  Tensor pos = models::relative_position_table(t, 8);
  std::vector<double> m(t * t);
  for (int64_t i = 0; i < t; ++i)
    for (int64_t j = 0; j < t; ++j) m[i * t + j] = (i >= valid || j >= valid) ? 1.0 : 0.0;
  Tensor mask = Tensor::from_vector(m, {1, t, t}, DType::Bool);
  Tensor full = att.forward(x, pos, mask);
  // Changing the padded frames must not change the valid outputs.
  Tensor x2 = ops::concat({x.narrow(1, 0, valid), ops::scale(Tensor::randn({1, t - valid, 8}, init), 10.0)}, 1);
  Tensor other = att.forward(x2, pos, mask);
  EXPECT_LE(test::max_abs_diff(full.narrow(1, 0, valid), other.narrow(1, 0, valid)), 1e-6);
  // A fully masked query row attends to nothing: the output is linear_out's bias.
  Tensor bias;
  for (auto& [name, p] : att.named_parameters())
    if (name == "linear_out.bias") bias = p;
  for (int64_t i = valid; i < t; ++i)
    EXPECT_LE(test::max_abs_diff(full.select(1, i).squeeze(0), bias), 1e-6);
}

}  // namespace
}  // namespace asr
