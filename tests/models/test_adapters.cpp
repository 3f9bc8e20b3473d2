// Adapters as NeMo builds them (spec §5): state-dict names and shapes, zero contribution at
// insertion, bitwise base behaviour when disabled, gradients, freezing with flat buffers, the
// residual strategy's stochastic depth and L2 auxiliary loss.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "asr/autograd/node.h"
#include "asr/io/model_file.h"
#include "asr/models/adapters.h"
#include "asr/models/conformer_ctc.h"
#include "asr/ops/ops.h"
#include "models/model_test_util.h"
#include "support/gradcheck.h"

namespace asr {
namespace {

using models::AdapterConfig;
using models::ConformerCtcModel;
using Keys = std::vector<std::pair<std::string, Shape>>;

Keys adapter_keys(const ConformerCtcModel& m) {
  Keys out;
  for (const auto& [n, t] : m.named_state())
    if (n.find("adapter_layer") != std::string::npos) out.emplace_back(n, t.shape());
  return out;
}

io::ModelConfig no_dropout(io::ModelConfig c) {
  c.encoder.dropout = c.encoder.dropout_pre_encoder = c.encoder.dropout_emb = 0.0;
  c.encoder.dropout_att = 0.0;
  return c;
}

// Random values for every adapter parameter (LayerNorm weights around 1), so zero inits no
// longer hide anything.
void randomise_adapters(nn::Module& m, Generator& gen, double scale = 0.5) {
  autograd::NoGradGuard ng;
  for (auto& [name, t] : m.named_parameters()) {
    if (name.find("adapter_layer") == std::string::npos) continue;
    const bool ln = name.find("norm") != std::string::npos ||
                    (name.find("module.0.") != std::string::npos && t.dim() == 1) ||
                    (name.find("module.3.") != std::string::npos && t.dim() == 1);
    Tensor r = Tensor::rand(t.shape(), gen, -scale, scale, t.dtype());
    if (ln && name.find(".weight") != std::string::npos)
      r = Tensor::rand(t.shape(), gen, 1.0 - scale, 1.0 + scale, t.dtype());
    t.detach().copy_(r);
  }
}

double checksum(const std::vector<std::pair<std::string, Tensor>>& state, bool adapters) {
  double s = 0;
  for (const auto& [n, t] : state) {
    if ((n.find("adapter_layer") != std::string::npos) != adapters || !is_floating(t.dtype())) continue;
    double w = 1.0;
    for (double v : t.to_vector()) s += (w += 1e-3) * v;
  }
  return s;
}

TEST(Adapters, StateDictKeysAndShapesMatchNeMo) {
  Generator gen(1);
  ConformerCtcModel model(test::tiny_config("striding", 2), gen);  // d 8, 2 heads
  model.add_adapter("lin", AdapterConfig::linear(4, "swish", "pre"));
  model.add_adapter("encoder:post", AdapterConfig::linear(3, "relu", "post"));
  model.add_adapter("mha", AdapterConfig::rel_pos_mha(2));
  model.add_adapter("tiny_attn", AdapterConfig::rel_pos_mha(1, -1));  // proj_dim < 1 -> n_head
  model.add_adapter("decoder:dec", AdapterConfig::linear(5));
  Keys expected;
  for (int i = 0; i < 2; ++i) {
    const std::string p = "encoder.layers." + std::to_string(i) + ".adapter_layer.";
    Keys layer = {
        {p + "lin.module.0.weight", {8}},       {p + "lin.module.0.bias", {8}},
        {p + "lin.module.1.weight", {4, 8}},    {p + "lin.module.3.weight", {8, 4}},
        {p + "post.module.0.weight", {3, 8}},   {p + "post.module.2.weight", {8, 3}},
        {p + "post.module.3.weight", {8}},      {p + "post.module.3.bias", {8}},
        {p + "mha.pos_bias_u", {2, 4}},         {p + "mha.pos_bias_v", {2, 4}},
        {p + "mha.linear_q.weight", {8, 8}},    {p + "mha.linear_q.bias", {8}},
        {p + "mha.linear_k.weight", {8, 8}},    {p + "mha.linear_k.bias", {8}},
        {p + "mha.linear_v.weight", {8, 8}},    {p + "mha.linear_v.bias", {8}},
        {p + "mha.linear_out.weight", {8, 8}},  {p + "mha.linear_out.bias", {8}},
        {p + "mha.linear_pos.weight", {8, 8}},  {p + "mha.pre_norm.weight", {8}},
        {p + "mha.pre_norm.bias", {8}},
        {p + "tiny_attn.pos_bias_u", {1, 1}},   {p + "tiny_attn.pos_bias_v", {1, 1}},
        {p + "tiny_attn.linear_q.weight", {1, 8}}, {p + "tiny_attn.linear_q.bias", {1}},
        {p + "tiny_attn.linear_k.weight", {1, 8}}, {p + "tiny_attn.linear_k.bias", {1}},
        {p + "tiny_attn.linear_v.weight", {1, 8}}, {p + "tiny_attn.linear_v.bias", {1}},
        {p + "tiny_attn.linear_out.weight", {8, 1}}, {p + "tiny_attn.linear_out.bias", {8}},
        {p + "tiny_attn.linear_pos.weight", {1, 8}}, {p + "tiny_attn.pre_norm.weight", {8}},
        {p + "tiny_attn.pre_norm.bias", {8}},
    };
    expected.insert(expected.end(), layer.begin(), layer.end());
  }
  expected.push_back({"decoder.adapter_layer.dec.module.0.weight", {8}});
  expected.push_back({"decoder.adapter_layer.dec.module.0.bias", {8}});
  expected.push_back({"decoder.adapter_layer.dec.module.1.weight", {5, 8}});
  expected.push_back({"decoder.adapter_layer.dec.module.3.weight", {8, 5}});
  EXPECT_EQ(adapter_keys(model), expected);
  EXPECT_EQ(model.adapter_names(), (std::vector<std::string>{"lin", "post", "mha", "tiny_attn", "dec"}));
}

TEST(Adapters, ProjDimSetsTheInnerWidth) {
  Generator gen(2);
  ConformerCtcModel model(test::tiny_config(), gen);
  model.add_adapter("m", AdapterConfig::rel_pos_mha(2, 6));
  Keys k = adapter_keys(model);
  EXPECT_EQ(k[0], (std::pair<std::string, Shape>{"encoder.layers.0.adapter_layer.m.pos_bias_u", {2, 3}}));
  EXPECT_EQ(k[2], (std::pair<std::string, Shape>{"encoder.layers.0.adapter_layer.m.linear_q.weight", {6, 8}}));
  EXPECT_THROW(model.add_adapter("odd", AdapterConfig::rel_pos_mha(4, 6)), Error);  // 6 % 4
}

TEST(Adapters, InitZeroesExactlyTheOutputPath) {
  Generator gen(3);
  ConformerCtcModel model(test::tiny_config(), gen);
  model.add_adapter("pre", AdapterConfig::linear(4, "swish", "pre"));
  model.add_adapter("post", AdapterConfig::linear(4, "swish", "post"));
  model.add_adapter("mha", AdapterConfig::rel_pos_mha(2));
  const std::set<std::string> zero = {"pre.module.3.weight", "post.module.3.weight", "post.module.3.bias",
                                      "mha.linear_out.weight", "mha.linear_out.bias", "mha.pos_bias_u",
                                      "mha.pos_bias_v", "pre.module.0.bias", "mha.pre_norm.bias"};
  for (const auto& [n, t] : model.named_parameters()) {
    const std::string pre = "encoder.layers.0.adapter_layer.";
    if (n.rfind(pre, 0) != 0) continue;
    double maxabs = 0;
    for (double v : t.to_vector()) maxabs = std::max(maxabs, std::abs(v));
    if (zero.count(n.substr(pre.size())))
      EXPECT_EQ(maxabs, 0.0) << n;
    else
      EXPECT_GT(maxabs, 0.0) << n;
  }
}

TEST(Adapters, EnabledListFollowsInsertionOrder) {
  Generator gen(4);
  ConformerCtcModel model(test::tiny_config("striding", 2), gen);
  model.add_adapter("a", AdapterConfig::linear(2));
  model.add_adapter("b", AdapterConfig::rel_pos_mha(1, -1), {1});
  model.add_adapter("decoder:c", AdapterConfig::linear(2));
  EXPECT_EQ(model.enabled_adapters(), (std::vector<std::string>{"a", "b", "c"}));
  model.set_adapter_enabled("a", false);
  EXPECT_EQ(model.enabled_adapters(), (std::vector<std::string>{"b", "c"}));
  model.set_all_adapters_enabled(false);
  EXPECT_TRUE(model.enabled_adapters().empty());
  model.set_adapter_enabled("c", true);
  EXPECT_EQ(model.enabled_adapters(), (std::vector<std::string>{"c"}));
  // "b" lives in layer 1 only.
  for (const auto& [n, t] : model.named_parameters())
    EXPECT_EQ(n.find("layers.0.adapter_layer.b"), std::string::npos) << n;
}

TEST(Adapters, BadRequestsAreErrors) {
  Generator gen(5);
  ConformerCtcModel model(test::tiny_config(), gen);
  model.add_adapter("a", AdapterConfig::linear(2));
  EXPECT_THROW(model.add_adapter("a", AdapterConfig::linear(2)), Error);
  EXPECT_THROW(model.add_adapter("decoder:m", AdapterConfig::rel_pos_mha(1)), Error);
  EXPECT_THROW(model.add_adapter("joint:x", AdapterConfig::linear(2)), Error);
  EXPECT_THROW(model.add_adapter("x", AdapterConfig::linear(2), {3}), Error);
  EXPECT_THROW(model.add_adapter("y", AdapterConfig::linear(2, "softplus")), Error);
  EXPECT_THROW(model.add_adapter("z", AdapterConfig::linear(2, "swish", "middle")), Error);
  EXPECT_THROW(model.set_adapter_enabled("nope", true), Error);
  EXPECT_EQ(model.adapter_names(), (std::vector<std::string>{"a"}));
}

// ---- on NeMo's fixture model -----------------------------------------------------------------

const std::string kNemo = std::string(ASR_FIXTURE_DIR) + "/nemo/conformer_ctc.nemo";

TEST(AdaptersOnNemoModel, ZeroInitThenDisabledGiveTheBaseLogProbsBitwise) {
  if (!std::filesystem::exists(kNemo)) GTEST_SKIP() << "no fixture " << kNemo;
  io::ModelFile mf = io::load_model_file(kNemo);
  auto model = models::load_ctc_model(mf);
  Generator gen(6);
  const int64_t mels = model->config().encoder.feat_in, t = 57;
  Tensor feats = Tensor::randn({2, mels, t}, gen);
  Tensor lens = test::lengths_tensor({t, 41});
  autograd::NoGradGuard ng;
  const Tensor base = model->forward(feats, lens).log_probs;

  model->add_adapter("pre", AdapterConfig::linear(16, "swish", "pre"));
  model->add_adapter("post", AdapterConfig::linear(8, "gelu", "post"));
  model->add_adapter("mha", AdapterConfig::rel_pos_mha(model->config().encoder.n_heads));
  model->add_adapter("tiny", AdapterConfig::rel_pos_mha(1, -1));
  model->add_adapter("decoder:dec", AdapterConfig::linear(8));
  ASSERT_EQ(model->enabled_adapters().size(), 5u);
  EXPECT_TRUE(test::bitwise_equal(model->forward(feats, lens).log_probs, base));

  randomise_adapters(*model, gen);
  const Tensor adapted = model->forward(feats, lens).log_probs;
  EXPECT_GT(test::max_abs_diff(adapted, base), 1e-3);
  for (const std::string n : {"pre", "post", "mha", "tiny", "dec"}) {  // each one matters alone
    model->set_all_adapters_enabled(false);
    model->set_adapter_enabled(n, true);
    EXPECT_GT(test::max_abs_diff(model->forward(feats, lens).log_probs, base), 1e-4) << n;
  }
  model->set_all_adapters_enabled(false);
  EXPECT_TRUE(test::bitwise_equal(model->forward(feats, lens).log_probs, base));
  model->set_all_adapters_enabled(true);
  EXPECT_TRUE(test::bitwise_equal(model->forward(feats, lens).log_probs, adapted));
}

// ---- gradients ---------------------------------------------------------------------------------

Tensor param(const nn::Module& m, const std::string& name) {
  for (const auto& [n, t] : m.named_parameters())
    if (n == name) return t;
  throw Error("no parameter " + name);
}

TEST(AdapterGradients, TinyModelMatchesFiniteDifferencesInF64) {
  Generator gen(7);
  ConformerCtcModel model(no_dropout(test::tiny_config()), gen, DType::F64);
  model.add_adapter("lin", AdapterConfig::linear(3, "swish", "pre"));
  model.add_adapter("post", AdapterConfig::linear(3, "tanh", "post"));
  model.add_adapter("mha", AdapterConfig::rel_pos_mha(2, 4));
  model.add_adapter("decoder:dec", AdapterConfig::linear(2, "gelu", "pre"));
  model.train(false);
  randomise_adapters(model, gen);
  Tensor feats = test::random_leaf({2, 16, 13}, gen);
  Tensor lens = test::lengths_tensor({13, 8});
  std::vector<Tensor> inputs = {feats};
  const std::string p = "encoder.layers.0.adapter_layer.";
  for (const std::string n :
       {p + "lin.module.0.weight", p + "lin.module.1.weight", p + "lin.module.3.weight",
        p + "post.module.0.weight", p + "post.module.3.bias", p + "mha.pos_bias_u",
        p + "mha.pos_bias_v", p + "mha.linear_q.weight", p + "mha.linear_k.bias",
        p + "mha.linear_v.weight", p + "mha.linear_out.weight", p + "mha.linear_pos.weight",
        p + "mha.pre_norm.weight", std::string("decoder.adapter_layer.dec.module.1.weight")})
    inputs.push_back(param(model, n));
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return model.forward(in[0], lens).log_probs; },
                   inputs);
}

// ---- freezing and flat buffers ------------------------------------------------------------------

Tensor tiny_loss(ConformerCtcModel& model, const Tensor& feats, const Tensor& lens) {
  models::CtcOutput out = model.forward(feats, lens);
  Tensor targets = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 0, 4, 4}, {2, 3});
  return ops::ctc_loss(out.log_probs, targets, out.lengths, test::lengths_tensor({3, 2}), model.blank(),
                       ops::CtcReduction::MeanBatch, true);
}

TEST(AdapterFreezing, OnlyEnabledAdaptersTrainThroughOneFlatBuffer) {
  Generator gen(8);
  ConformerCtcModel model(no_dropout(test::tiny_config("striding", 2)), gen);
  model.add_adapter("lin", AdapterConfig::linear(4));
  model.add_adapter("mha", AdapterConfig::rel_pos_mha(1, -1));
  model.add_adapter("off", AdapterConfig::linear(4));
  model.add_adapter("decoder:dec", AdapterConfig::linear(3));
  model.set_adapter_enabled("off", false);
  randomise_adapters(model, gen);
  model.freeze_base_for_adapters();
  model.train(true);  // as Lightning does; BatchNorm must stay on running statistics

  std::vector<std::pair<std::string, Tensor>> trainable;
  int64_t count = 0;
  for (const auto& [n, t] : model.named_parameters()) {
    const bool adapter = n.find("adapter_layer") != std::string::npos && n.find(".off.") == std::string::npos;
    EXPECT_EQ(t.requires_grad(), adapter) << n;
    if (adapter) {
      trainable.emplace_back(n, t);
      count += t.numel();
    }
  }
  EXPECT_EQ(model.num_trainable_parameters(), count);
  ASSERT_EQ(model.flat_parameters().numel(), count);
  ASSERT_EQ(model.flat_gradients().numel(), count);

  const auto state0 = model.named_state();
  const double base0 = checksum(state0, false);
  std::vector<std::pair<std::string, Tensor>> buffers0;
  for (const auto& [n, b] : model.named_buffers()) buffers0.emplace_back(n, b.clone());

  Tensor feats = Tensor::randn({2, 16, 30}, gen);
  Tensor lens = test::lengths_tensor({30, 22});
  const double adapters0 = checksum(model.named_state(), true);
  double first_loss = 0;
  for (int step = 0; step < 3; ++step) {
    model.zero_grad();
    Tensor loss = tiny_loss(model, feats, lens);
    if (step == 0) first_loss = loss.item();
    loss.backward();
    // Each parameter's grad is its slice of the flat buffer, in state-dict order.
    std::vector<double> concat, values;
    for (const auto& [n, t] : trainable) {
      Tensor g = t.grad();
      ASSERT_TRUE(g.defined()) << n;
      for (double v : g.to_vector()) concat.push_back(v);
      for (double v : t.to_vector()) values.push_back(v);
    }
    EXPECT_EQ(concat, model.flat_gradients().to_vector());
    EXPECT_EQ(values, model.flat_parameters().to_vector());
    for (const auto& [n, t] : model.named_parameters())
      if (!t.requires_grad()) EXPECT_FALSE(t.grad().defined()) << n;
    autograd::NoGradGuard ng;  // plain SGD on the flat buffers
    Tensor fp = model.flat_parameters();
    fp.copy_(ops::sub(fp, ops::scale(model.flat_gradients(), 0.05)));
  }
  EXPECT_LT(tiny_loss(model, feats, lens).item(), first_loss);
  EXPECT_EQ(checksum(model.named_state(), false), base0);  // base weights and BN stats untouched
  EXPECT_NE(checksum(model.named_state(), true), adapters0);
  auto buffers1 = model.named_buffers();
  for (size_t i = 0; i < buffers0.size(); ++i)
    EXPECT_TRUE(test::bitwise_equal(buffers0[i].second, buffers1[i].second)) << buffers0[i].first;
}

TEST(AdapterFreezing, FrozenBatchNormInTrainModeMatchesEvalOutput) {
  Generator gen(9);
  ConformerCtcModel model(no_dropout(test::tiny_config()), gen);
  model.add_adapter("lin", AdapterConfig::linear(4));
  randomise_adapters(model, gen);
  {
    autograd::NoGradGuard ng;  // non-trivial running statistics
    for (auto& [n, b] : model.named_buffers())
      if (n.find("running_") != std::string::npos) b.detach().copy_(Tensor::rand(b.shape(), gen, 0.5, 1.5));
  }
  Tensor feats = Tensor::randn({1, 16, 25}, gen);
  Tensor lens = test::lengths_tensor({25});
  model.train(false);
  const Tensor eval0 = model.forward(feats, lens).log_probs.detach();
  model.train(true);  // unfrozen: batch statistics (and running-stat updates)
  EXPECT_GT(test::max_abs_diff(model.forward(feats, lens).log_probs, eval0), 1e-4);
  model.train(false);
  const Tensor eval_out = model.forward(feats, lens).log_probs.detach();
  std::vector<Tensor> stats;
  for (auto& [n, b] : model.named_buffers()) stats.push_back(b.clone());
  model.freeze_base_for_adapters();
  model.train(true);
  EXPECT_TRUE(test::bitwise_equal(model.forward(feats, lens).log_probs, eval_out));
  auto after = model.named_buffers();
  for (size_t i = 0; i < stats.size(); ++i)
    EXPECT_TRUE(test::bitwise_equal(stats[i], after[i].second)) << after[i].first;
}

TEST(AdapterFreezing, SmallConfigLinearAdapterCountsAsNeMoTutorial) {
  Generator gen(10);
  ConformerCtcModel model(test::small_config(), gen);
  model.add_adapter("AN4", AdapterConfig::linear(32, "swish", "pre"));
  model.freeze_base_for_adapters();
  EXPECT_EQ(model.num_trainable_parameters(), 185856);  // 16 * (2*176 + 2*176*32)
  EXPECT_EQ(model.flat_parameters().numel(), 185856);
}

TEST(AdapterFreezing, NothingEnabledIsAnError) {
  Generator gen(11);
  ConformerCtcModel model(test::tiny_config(), gen);
  EXPECT_THROW(model.freeze_base_for_adapters(), Error);
  model.add_adapter("a", AdapterConfig::linear(2));
  model.set_all_adapters_enabled(false);
  EXPECT_THROW(model.freeze_base_for_adapters(), Error);
}

// ---- residual strategy --------------------------------------------------------------------------

TEST(AdapterStrategy, StochasticDepthDropsOrRescalesTheWholeOutput) {
  Generator gen(12);
  models::AdapterRuntime rt;
  rt.gen = std::make_shared<Generator>(99);
  Tensor x = Tensor::randn({3, 4, 5}, gen), out = Tensor::randn({3, 4, 5}, gen);
  models::AdapterStrategyConfig s;
  s.stochastic_depth = 0.25;
  const Tensor kept = ops::add(x, ops::scale(out, 1.0 / 0.75));
  int dropped = 0, n = 400;
  for (int i = 0; i < n; ++i) {
    Tensor r = models::residual_add(x, out, s, true, rt);
    if (test::bitwise_equal(r, x)) {
      ++dropped;
    } else {
      EXPECT_TRUE(test::bitwise_equal(r, kept));
    }
  }
  EXPECT_GT(dropped, n * 0.17);
  EXPECT_LT(dropped, n * 0.33);
  const uint64_t off = rt.gen->offset();
  EXPECT_TRUE(test::bitwise_equal(models::residual_add(x, out, s, false, rt), ops::add(x, out)));
  EXPECT_EQ(rt.gen->offset(), off);  // eval draws nothing
  s.stochastic_depth = 1.0;
  EXPECT_TRUE(test::bitwise_equal(models::residual_add(x, out, s, true, rt), x));
  s.stochastic_depth = 1.5;
  EXPECT_THROW(models::residual_add(x, out, s, true, rt), Error);
}

TEST(AdapterStrategy, L2AuxiliaryLossIsLambdaTimesBatchMeanOfSumOfSquares) {
  Generator gen(13);
  models::AdapterRuntime rt;
  rt.gen = std::make_shared<Generator>(1);
  Tensor x = Tensor::randn({3, 4, 5}, gen, 1.0, DType::F64), out = Tensor::randn({3, 4, 5}, gen, 1.0, DType::F64);
  models::AdapterStrategyConfig s;
  s.l2_lambda = 0.3;
  models::residual_add(x, out, s, false, rt);
  EXPECT_TRUE(rt.aux_losses.empty());
  models::residual_add(x, out, s, true, rt);
  ASSERT_EQ(rt.aux_losses.size(), 1u);
  const std::vector<double> o = out.to_vector();
  double expect = 0;
  for (double v : o) expect += v * v;
  expect = 0.3 * expect / 3.0;
  EXPECT_NEAR(rt.aux_losses[0].item(), expect, 1e-12);
}

TEST(AdapterStrategy, ModelCollectsAuxiliaryLossesOfTheLastForwardOnly) {
  Generator gen(14);
  ConformerCtcModel model(no_dropout(test::tiny_config("striding", 2)), gen);
  AdapterConfig c = AdapterConfig::linear(4);
  c.strategy.l2_lambda = 0.01;
  model.add_adapter("lin", c);
  AdapterConfig m = AdapterConfig::rel_pos_mha(1, -1);
  m.strategy.l2_lambda = 0.02;
  model.add_adapter("mha", m);
  randomise_adapters(model, gen);
  Tensor feats = Tensor::randn({2, 16, 30}, gen);
  Tensor lens = test::lengths_tensor({30, 22});
  model.train(false);
  model.forward(feats, lens);
  EXPECT_FALSE(model.auxiliary_loss().defined());
  model.freeze_base_for_adapters();
  model.train(true);
  model.forward(feats, lens);
  const Tensor aux1 = model.auxiliary_loss();
  ASSERT_TRUE(aux1.defined());
  EXPECT_GT(aux1.item(), 0.0);
  model.forward(feats, lens);
  EXPECT_DOUBLE_EQ(model.auxiliary_loss().item(), aux1.item());  // not accumulated across calls
  // Differentiable: the aux loss alone gives the adapters gradients.
  model.zero_grad();
  model.auxiliary_loss().backward();
  double norm = 0;
  for (double v : model.flat_gradients().to_vector()) norm += v * v;
  EXPECT_GT(norm, 0.0);
  model.set_adapter_enabled("lin", false);
  model.set_adapter_enabled("mha", false);
  model.forward(feats, lens);
  EXPECT_FALSE(model.auxiliary_loss().defined());
}

}  // namespace
}  // namespace asr
