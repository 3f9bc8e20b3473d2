// load_ctc_model: strict loading by NeMo key names, preprocessor keys left out.
#include <gtest/gtest.h>

#include "asr/autograd/node.h"
#include "asr/models/conformer_ctc.h"
#include "models/model_test_util.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

namespace asr {
namespace {

io::ModelFile file_from(const models::ConformerCtcModel& src, const io::ModelConfig& cfg) {
  io::ModelFile f;
  f.path = "tiny.nemo";
  f.config = cfg;
  for (const auto& [name, t] : src.named_state()) f.weights[name] = t.detach().clone();
  f.weights["preprocessor.featurizer.fb"] = Tensor::zeros({1, 16, 257});
  f.weights["preprocessor.featurizer.window"] = Tensor::zeros({400});
  return f;
}

TEST(LoadCtcModel, LoadsEveryWeightByNameAndReproducesTheSource) {
  autograd::NoGradGuard ng;
  const io::ModelConfig cfg = test::tiny_config("dw_striding");
  Generator gen(61);
  models::ConformerCtcModel src(cfg, gen);
  src.train(false);
  std::unique_ptr<models::ConformerCtcModel> loaded = models::load_ctc_model(file_from(src, cfg));
  EXPECT_FALSE(loaded->is_training());
  Tensor feats = Tensor::randn({2, 16, 30}, gen);
  Tensor lens = test::lengths_tensor({30, 17});
  EXPECT_TRUE(test::bitwise_equal(src.forward(feats, lens).log_probs, loaded->forward(feats, lens).log_probs));
  EXPECT_EQ(loaded->blank(), 5);
  EXPECT_EQ(loaded->num_outputs(), 6);
}

TEST(LoadCtcModel, MissingUnexpectedAndMisshapedKeysAreNamed) {
  const io::ModelConfig cfg = test::tiny_config();
  Generator gen(62);
  models::ConformerCtcModel src(cfg, gen);
  io::ModelFile f = file_from(src, cfg);
  f.weights.erase("encoder.layers.0.self_attn.pos_bias_v");
  EXPECT_ASR_ERROR(models::load_ctc_model(f), "encoder.layers.0.self_attn.pos_bias_v");
  f = file_from(src, cfg);
  f.weights["encoder.layers.0.adapter_layer.x.weight"] = Tensor::zeros({2});
  EXPECT_ASR_ERROR(models::load_ctc_model(f), "encoder.layers.0.adapter_layer.x.weight");
  f = file_from(src, cfg);
  f.weights["decoder.decoder_layers.0.weight"] = Tensor::zeros({7, 8, 1});
  EXPECT_ASR_ERROR(models::load_ctc_model(f), "decoder.decoder_layers.0.weight");
  // The message names the file too.
  f = file_from(src, cfg);
  f.weights.erase("encoder.pre_encode.out.bias");
  EXPECT_ASR_ERROR(models::load_ctc_model(f), "tiny.nemo: ");
}

}  // namespace
}  // namespace asr
