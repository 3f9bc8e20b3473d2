// Backward through the whole model: finite-difference checks of a tiny f64 model, and finite
// gradients for every parameter of a training step.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "asr/autograd/node.h"
#include "asr/models/conformer_ctc.h"
#include "asr/ops/ops.h"
#include "models/model_test_util.h"
#include "support/gradcheck.h"

namespace asr {
namespace {

Tensor param(const nn::Module& m, const std::string& name) {
  for (const auto& [n, t] : m.named_parameters())
    if (n == name) return t;
  throw Error("no parameter " + name);
}

// Non-zero values for the parameters NeMo initialises to constants, so their gradients are
// exercised away from the trivial point.
void randomise_constant_inits(nn::Module& m, Generator& gen) {
  autograd::NoGradGuard ng;
  for (auto& [name, t] : m.named_state()) {
    const bool constant = name.find("norm") != std::string::npos || name.find("pos_bias") != std::string::npos;
    if (!constant || name.find("num_batches") != std::string::npos) continue;
    Tensor r = Tensor::rand(t.shape(), gen, 0.5, 1.5, t.dtype());
    if (name.find("running_mean") != std::string::npos || name.find("bias") != std::string::npos)
      r = Tensor::rand(t.shape(), gen, -0.5, 0.5, t.dtype());
    t.detach().copy_(r);
  }
}

void gradcheck_model(const std::string& kind) {
  io::ModelConfig cfg = test::tiny_config(kind);
  Generator gen(21);
  models::ConformerCtcModel model(cfg, gen, DType::F64);
  model.train(false);  // deterministic forward (no dropout, BatchNorm on running stats)
  randomise_constant_inits(model, gen);
  const int64_t t = kind == "striding" ? 11 : 19;
  Tensor feats = test::random_leaf({2, 16, t}, gen);
  Tensor lens = test::lengths_tensor({t, t - 6});
  std::vector<Tensor> inputs = {feats};
  for (const char* n :
       {"encoder.pre_encode.conv.0.weight", "encoder.pre_encode.out.bias",
        "encoder.layers.0.feed_forward1.linear1.bias", "encoder.layers.0.self_attn.pos_bias_u",
        "encoder.layers.0.self_attn.pos_bias_v", "encoder.layers.0.self_attn.linear_pos.weight",
        "encoder.layers.0.self_attn.linear_k.weight", "encoder.layers.0.conv.depthwise_conv.weight",
        "encoder.layers.0.conv.batch_norm.weight", "encoder.layers.0.conv.pointwise_conv1.bias",
        "encoder.layers.0.norm_out.weight", "decoder.decoder_layers.0.weight"})
    inputs.push_back(param(model, n));
  if (kind == "dw_striding") inputs.push_back(param(model, "encoder.pre_encode.conv.5.weight"));
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return model.forward(in[0], lens).log_probs; },
                   inputs);
}

TEST(ModelGradients, StridingTinyModelMatchesFiniteDifferencesInF64) { gradcheck_model("striding"); }

TEST(ModelGradients, DwStridingTinyModelMatchesFiniteDifferencesInF64) { gradcheck_model("dw_striding"); }

TEST(ModelGradients, TrainingStepGivesFiniteGradientsForEveryParameter) {
  io::ModelConfig cfg = test::tiny_config("striding", 2);
  cfg.encoder.dropout_att = 0.1;
  cfg.encoder.dropout_emb = 0.1;
  Generator gen(31);
  models::ConformerCtcModel model(cfg, gen);
  model.train(true);
  Tensor feats = Tensor::randn({3, 16, 40}, gen);
  Tensor lens = test::lengths_tensor({40, 33, 21});
  models::CtcOutput out = model.forward(feats, lens);
  Tensor targets = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 0, 4, 4, 1, 2, 3}, {3, 3});
  Tensor loss = ops::ctc_loss(out.log_probs, targets, out.lengths, test::lengths_tensor({3, 3, 2}),
                              model.blank(), ops::CtcReduction::MeanBatch, true);
  ASSERT_TRUE(std::isfinite(loss.item()));
  loss.backward();
  for (const auto& [name, p] : model.named_parameters()) {
    Tensor g = p.grad();
    ASSERT_TRUE(g.defined()) << name;
    EXPECT_EQ(g.shape(), p.shape()) << name;
    double norm = 0;
    for (double v : g.to_vector()) {
      ASSERT_TRUE(std::isfinite(v)) << name;
      norm += v * v;
    }
    // pos_bias_u/v start at zero but still receive gradient; only nothing may be all-zero.
    EXPECT_GT(norm, 0.0) << name;
  }
  // Training mode updated the BatchNorm statistics.
  for (const auto& [name, b] : model.named_buffers())
    if (name.find("num_batches_tracked") != std::string::npos) EXPECT_EQ(b.item(), 1.0) << name;
}

TEST(ModelGradients, FrozenModelRecordsNoParameterGradients) {
  Generator gen(41);
  models::ConformerCtcModel model(test::tiny_config(), gen);
  model.set_requires_grad(false);
  model.train(false);
  Tensor feats = test::random_leaf({1, 16, 12}, gen).to(DType::F32);
  models::CtcOutput out = model.forward(feats, test::lengths_tensor({12}));
  ops::sum(out.log_probs).backward();
  for (const auto& [name, p] : model.named_parameters()) EXPECT_FALSE(p.grad().defined()) << name;
}

TEST(ModelDropout, ActiveOnlyInTrainingAndReproducibleFromGeneratorState) {
  io::ModelConfig cfg = test::tiny_config();
  Generator gen(51);
  models::ConformerCtcModel model(cfg, gen);
  autograd::NoGradGuard ng;
  Tensor feats = Tensor::randn({1, 16, 20}, gen);
  Tensor lens = test::lengths_tensor({20});
  model.train(false);
  Tensor e1 = model.forward(feats, lens).log_probs, e2 = model.forward(feats, lens).log_probs;
  EXPECT_TRUE(test::bitwise_equal(e1, e2));
  model.train(true);
  const uint64_t seed = model.dropout_generator().seed(), off = model.dropout_generator().offset();
  Tensor t1 = model.forward(feats, lens).log_probs;
  Tensor t2 = model.forward(feats, lens).log_probs;
  EXPECT_GT(test::max_abs_diff(t1, t2), 1e-4);  // fresh dropout masks
  model.dropout_generator().set_state(seed, off);
  Tensor t3 = model.forward(feats, lens).log_probs;
  // Same masks again. BatchNorm's running stats moved meanwhile, but in training it normalises
  // with batch statistics, so t3 reproduces t1.
  EXPECT_TRUE(test::bitwise_equal(t1, t3));
}

}  // namespace
}  // namespace asr
