// State-dict names and shapes must equal NeMo's keys (written out by hand from the spec), so a
// .nemo checkpoint loads by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "asr/models/conformer_ctc.h"
#include "models/model_test_util.h"
#include "support/test_util.h"

namespace asr {
namespace {

using KeyShapes = std::map<std::string, Shape>;

KeyShapes state_shapes(const nn::Module& m) {
  KeyShapes out;
  for (const auto& [name, t] : m.named_state()) {
    EXPECT_TRUE(out.emplace(name, t.shape()).second) << "duplicate key " << name;
  }
  return out;
}

// Layer 0 of the tiny config (d 8, d_ff 32, 2 heads -> d_k 4, kernel 3), with or without biases.
void add_layer_keys(KeyShapes& k, bool bias, bool batch_norm) {
  const std::string p = "encoder.layers.0.";
  for (const char* ln : {"norm_feed_forward1", "norm_conv", "norm_self_att", "norm_feed_forward2", "norm_out"}) {
    k[p + ln + ".weight"] = {8};
    k[p + ln + ".bias"] = {8};
  }
  for (const char* ff : {"feed_forward1", "feed_forward2"}) {
    k[p + ff + ".linear1.weight"] = {32, 8};
    k[p + ff + ".linear2.weight"] = {8, 32};
    if (bias) {
      k[p + ff + ".linear1.bias"] = {32};
      k[p + ff + ".linear2.bias"] = {8};
    }
  }
  k[p + "conv.pointwise_conv1.weight"] = {16, 8, 1};
  k[p + "conv.depthwise_conv.weight"] = {8, 1, 3};
  k[p + "conv.pointwise_conv2.weight"] = {8, 8, 1};
  if (bias) {
    k[p + "conv.pointwise_conv1.bias"] = {16};
    k[p + "conv.depthwise_conv.bias"] = {8};
    k[p + "conv.pointwise_conv2.bias"] = {8};
  }
  k[p + "conv.batch_norm.weight"] = {8};
  k[p + "conv.batch_norm.bias"] = {8};
  if (batch_norm) {
    k[p + "conv.batch_norm.running_mean"] = {8};
    k[p + "conv.batch_norm.running_var"] = {8};
    k[p + "conv.batch_norm.num_batches_tracked"] = {};
  }
  k[p + "self_attn.pos_bias_u"] = {2, 4};
  k[p + "self_attn.pos_bias_v"] = {2, 4};
  for (const char* l : {"linear_q", "linear_k", "linear_v", "linear_out"}) {
    k[p + "self_attn." + l + ".weight"] = {8, 8};
    if (bias) k[p + "self_attn." + l + ".bias"] = {8};
  }
  k[p + "self_attn.linear_pos.weight"] = {8, 8};  // never a bias
  k["decoder.decoder_layers.0.weight"] = {6, 8, 1};
  k["decoder.decoder_layers.0.bias"] = {6};
}

TEST(ModelStateDict, StridingKeysAndShapesMatchNemo) {
  Generator gen(1);
  models::ConformerCtcModel model(test::tiny_config("striding"), gen);
  KeyShapes want;
  // Conv channels 4, 16 mel bins -> 8 -> 4 after two stride-2 stages: Linear(4 * 4, 8).
  want["encoder.pre_encode.conv.0.weight"] = {4, 1, 3, 3};
  want["encoder.pre_encode.conv.0.bias"] = {4};
  want["encoder.pre_encode.conv.2.weight"] = {4, 4, 3, 3};
  want["encoder.pre_encode.conv.2.bias"] = {4};
  want["encoder.pre_encode.out.weight"] = {8, 16};
  want["encoder.pre_encode.out.bias"] = {8};
  add_layer_keys(want, true, true);
  EXPECT_EQ(state_shapes(model), want);
}

TEST(ModelStateDict, DwStridingKeysAndShapesMatchNemo) {
  Generator gen(1);
  models::ConformerCtcModel model(test::tiny_config("dw_striding"), gen);
  KeyShapes want;
  // conv.0 full, then [depthwise conv.2, pointwise conv.3, ReLU], [conv.5, conv.6, ReLU];
  // 16 mel bins -> 8 -> 4 -> 2: Linear(4 * 2, 8).
  want["encoder.pre_encode.conv.0.weight"] = {4, 1, 3, 3};
  want["encoder.pre_encode.conv.0.bias"] = {4};
  for (const char* dw : {"2", "5"}) {
    want[std::string("encoder.pre_encode.conv.") + dw + ".weight"] = {4, 1, 3, 3};
    want[std::string("encoder.pre_encode.conv.") + dw + ".bias"] = {4};
  }
  for (const char* pw : {"3", "6"}) {
    want[std::string("encoder.pre_encode.conv.") + pw + ".weight"] = {4, 4, 1, 1};
    want[std::string("encoder.pre_encode.conv.") + pw + ".bias"] = {4};
  }
  want["encoder.pre_encode.out.weight"] = {8, 8};
  want["encoder.pre_encode.out.bias"] = {8};
  add_layer_keys(want, true, true);
  EXPECT_EQ(state_shapes(model), want);
}

TEST(ModelStateDict, NoBiasAndLayerNormConvVariants) {
  io::ModelConfig cfg = test::tiny_config("striding");
  cfg.encoder.use_bias = false;
  cfg.encoder.conv_norm_type = "layer_norm";
  Generator gen(1);
  models::ConformerCtcModel model(cfg, gen);
  KeyShapes want;
  want["encoder.pre_encode.conv.0.weight"] = {4, 1, 3, 3};
  want["encoder.pre_encode.conv.0.bias"] = {4};
  want["encoder.pre_encode.conv.2.weight"] = {4, 4, 3, 3};
  want["encoder.pre_encode.conv.2.bias"] = {4};
  want["encoder.pre_encode.out.weight"] = {8, 16};
  want["encoder.pre_encode.out.bias"] = {8};
  add_layer_keys(want, false, false);
  EXPECT_EQ(state_shapes(model), want);
}

TEST(ModelStateDict, BuffersAreNotParameters) {
  Generator gen(1);
  models::ConformerCtcModel model(test::tiny_config(), gen);
  std::map<std::string, DType> buffers;
  for (const auto& [name, t] : model.named_buffers()) buffers[name] = t.dtype();
  const std::string bn = "encoder.layers.0.conv.batch_norm.";
  EXPECT_EQ(buffers, (std::map<std::string, DType>{{bn + "num_batches_tracked", DType::I64},
                                                   {bn + "running_mean", DType::F32},
                                                   {bn + "running_var", DType::F32}}));
}

TEST(ModelStateDict, InitialisationFollowsPyTorch) {
  Generator gen(3);
  models::ConformerCtcModel model(test::small_config(), gen);
  for (const auto& [name, t] : model.named_state()) {
    const std::vector<double> v = t.to_vector();
    auto all = [&](double x) {
      for (double e : v) if (e != x) return false;
      return true;
    };
    auto ends = [&name = name](const std::string& s) {  // explicit: C++17 lambdas cannot capture a binding
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    if (name.find("norm") != std::string::npos && ends(".weight")) {
      EXPECT_TRUE(all(1.0)) << name;  // LayerNorm / BatchNorm weight
    } else if ((name.find("norm") != std::string::npos && ends(".bias")) || ends("running_mean") ||
               ends("pos_bias_u") || ends("pos_bias_v") || ends("num_batches_tracked")) {
      EXPECT_TRUE(all(0.0)) << name;
    } else if (ends("running_var")) {
      EXPECT_TRUE(all(1.0)) << name;
    } else {
      // Linear / Conv: U(+-1/sqrt(fan_in)), fan_in = numel / out (weights) and the same bound for
      // the bias of that layer.
      const std::string layer = name.substr(0, name.rfind('.'));
      const Tensor w = [&] {
        for (const auto& [n2, t2] : model.named_parameters())
          if (n2 == layer + ".weight") return t2;
        return Tensor();
      }();
      ASSERT_TRUE(w.defined()) << name;
      const double bound = 1.0 / std::sqrt(static_cast<double>(w.numel() / w.size(0)));
      double mx = 0;
      for (double e : v) mx = std::max(mx, std::fabs(e));
      EXPECT_LE(mx, bound) << name;
      if (v.size() >= 100) EXPECT_GT(mx, 0.9 * bound) << name;  // actually spans the range
    }
  }
}

// Conformer-CTC Small: NeMo reports ~13M. By hand (d 176, d_ff 704, C 176, K 31, V 128):
//  pre_encode: conv.0 176*9+176 = 1,760; conv.2 176*176*9+176 = 278,960;
//              out (176*20)*176+176 = 619,696                                    -> 900,416
//  per layer:  5 LayerNorms 5*352 = 1,760; 2 FF 2*(176*704+704+704*176+176) = 497,376;
//              conv 176*352+352 + 176*31+176 + 352 (BN) + 176*176+176 = 99,440;
//              attention 4*(176*176+176) + 176*176 + 2*176 = 155,936            -> 754,512
//  16 layers: 12,072,192; decoder 129*176+129 = 22,833.       Total: 12,995,441.
TEST(ModelStateDict, ConformerCtcSmallParameterCount) {
  Generator gen(0);
  models::ConformerCtcModel model(test::small_config(), gen);
  int64_t from_shapes = 0;
  for (const auto& [name, t] : model.named_parameters()) from_shapes += shape_numel(t.shape());
  EXPECT_EQ(from_shapes, 12995441);
  EXPECT_EQ(model.num_parameters(), 12995441);
  // Buffers: 16 BatchNorms x (176 mean + 176 var + 1 counter).
  int64_t buffers = 0;
  for (const auto& [name, t] : model.named_buffers()) buffers += t.numel();
  EXPECT_EQ(buffers, 16 * (2 * 176 + 1));
}

TEST(ModelStateDict, UnsupportedConfigsAreRefused) {
  Generator gen(0);
  io::ModelConfig c = test::tiny_config();
  c.encoder.subsampling = "vggnet";
  EXPECT_ASR_ERROR(models::ConformerCtcModel(c, gen), "vggnet");
  c = test::tiny_config();
  c.encoder.self_attention_model = "abs_pos";
  EXPECT_ASR_ERROR(models::ConformerCtcModel(c, gen), "self_attention_model");
  c = test::tiny_config();
  c.encoder.n_heads = 3;
  EXPECT_ASR_ERROR(models::ConformerCtcModel(c, gen), "n_heads");
  c = test::tiny_config();
  c.encoder.conv_norm_type = "group_norm2";
  EXPECT_ASR_ERROR(models::ConformerCtcModel(c, gen), "group_norm2");
  c = test::tiny_config();
  c.encoder.subsampling_factor = 6;
  EXPECT_ASR_ERROR(models::ConformerCtcModel(c, gen), "subsampling_factor");
  c = test::tiny_config();
  c.decoder.num_classes = 0;
  EXPECT_ASR_ERROR(models::ConformerCtcModel(c, gen), "num_classes");
}

}  // namespace
}  // namespace asr
