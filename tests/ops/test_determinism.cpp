// Same seed and same thread count -> bitwise-identical forward values and gradients, through a
// graph that uses every op family (conv, norms, attention-style matmuls, dropout, CTC).
#include <gtest/gtest.h>
#include <omp.h>

#include "asr/ops/ops.h"
#include "support/gradcheck.h"

using namespace asr;

namespace {

struct RunResult {
  Tensor loss, g_conv, g_proj, g_ln;
};

RunResult run_step(uint64_t seed) {
  Generator gen(seed);
  const int64_t B = 3, C = 8, T = 20, V = 6;
  Tensor x = Tensor::randn({B, C, T}, gen);
  Tensor conv_w = Tensor::randn({C, 1, 5}, gen, 0.3).set_requires_grad(true);  // depthwise
  Tensor pw = Tensor::randn({C, C, 1}, gen, 0.3);                               // frozen
  Tensor bn_mean = Tensor::zeros({C}), bn_var = Tensor::ones({C});
  Tensor ln_w = Tensor::ones({C}).set_requires_grad(true), ln_b = Tensor::zeros({C});
  Tensor proj = Tensor::randn({V, C}, gen, 0.3).set_requires_grad(true);
  Tensor img = Tensor::randn({B, 1, 8, 8}, gen);
  Tensor k2 = Tensor::randn({2, 1, 3, 3}, gen);

  Tensor h = ops::conv1d(x, conv_w, Tensor(), 1, 2, C);
  h = ops::batch_norm(ops::conv1d(h, pw), Tensor(), Tensor(), bn_mean, bn_var, true);
  h = ops::layer_norm(ops::silu(h).transpose(1, 2), ln_w, ln_b);  // [B, T, C]
  Tensor att = ops::softmax(ops::matmul(h, h.transpose(1, 2)), -1);
  h = ops::add(h, ops::matmul(att, h));
  h = ops::dropout(h, 0.2, true, gen);
  Tensor sub = ops::conv2d(img, k2, Tensor(), 2, 1);  // touches conv2d too
  Tensor lp = ops::log_softmax(ops::linear(h, proj), -1);
  Tensor targets = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 4, 1, 1, 2, 0, 0}, {B, 3});
  Tensor il = Tensor::from_vector(std::vector<int64_t>{20, 18, 15}, {B});
  Tensor tl = Tensor::from_vector(std::vector<int64_t>{3, 3, 1}, {B});
  Tensor loss = ops::add(ops::ctc_loss(lp, targets, il, tl, V - 1, ops::CtcReduction::MeanBatch, true),
                         ops::scale(ops::mean(sub), 0.0));
  loss.backward();
  return {loss, conv_w.grad(), proj.grad(), ln_w.grad()};
}

}  // namespace

TEST(Determinism, SameSeedSameThreadsGivesBitwiseIdenticalResults) {
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    RunResult a = run_step(99), b = run_step(99);
    EXPECT_TRUE(test::bitwise_equal(a.loss, b.loss)) << threads << " threads";
    EXPECT_TRUE(test::bitwise_equal(a.g_conv, b.g_conv)) << threads << " threads";
    EXPECT_TRUE(test::bitwise_equal(a.g_proj, b.g_proj)) << threads << " threads";
    EXPECT_TRUE(test::bitwise_equal(a.g_ln, b.g_ln)) << threads << " threads";
    RunResult c = run_step(100);
    EXPECT_FALSE(test::bitwise_equal(a.loss, c.loss));
  }
}
