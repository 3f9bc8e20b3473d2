// init_model: a NeMo config + tokenizer give a model with every weight NeMo's architecture has,
// NeMo's preprocessor buffers, seeded random weights, and a clear error for a vocabulary mismatch.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <regex>

#include <yaml-cpp/yaml.h>

#include "asr/io/model_config.h"
#include "asr/io/nemo_writer.h"
#include "asr/models/conformer_ctc.h"
#include "asr/models/model_init.h"
#include "support/test_util.h"

using namespace asr;

namespace {
const std::string kFixture = std::string(ASR_FIXTURE_DIR) + "/nemo/conformer_ctc.nemo";

bool same_bytes(const Tensor& a, const Tensor& b) {
  const Tensor x = a.contiguous(), y = b.contiguous();
  return x.shape() == y.shape() && x.dtype() == y.dtype() &&
         std::memcmp(x.raw_data(), y.raw_data(), static_cast<size_t>(x.numel()) * dtype_size(x.dtype())) == 0;
}
}  // namespace

TEST(ModelInit, BuildsEveryWeightOfTheArchitectureWithNemosPreprocessorBuffers) {
  const io::ModelFile fixture = io::load_model_file(kFixture);
  const io::ModelFile fresh = models::init_model(fixture.config.yaml, "fixture config", fixture.tokenizer_model, 7);
  ASSERT_EQ(fresh.weights.size(), fixture.weights.size());
  for (const auto& [k, t] : fixture.weights) {
    ASSERT_TRUE(fresh.weights.count(k)) << k;
    EXPECT_EQ(fresh.weights.at(k).shape(), t.shape()) << k;
  }
  // The preprocessor buffers are NeMo's own values (computed the same way), not random.
  for (const char* k : {"preprocessor.featurizer.fb", "preprocessor.featurizer.window"}) {
    const Tensor a = fresh.weights.at(k).to(DType::F64), b = fixture.weights.at(k).to(DType::F64);
    double max_diff = 0;
    for (int64_t i = 0; i < a.numel(); ++i)
      max_diff = std::max(max_diff, std::abs(a.data<double>()[i] - b.data<double>()[i]));
    EXPECT_LT(max_diff, 1e-6) << k;
  }
  auto model = models::load_ctc_model(fresh);
  EXPECT_EQ(model->num_outputs(), 65);
}

TEST(ModelInit, TheSeedDecidesTheWeights) {
  const io::ModelFile fixture = io::load_model_file(kFixture);
  const auto a = models::init_model(fixture.config.yaml, "c", fixture.tokenizer_model, 1);
  const auto b = models::init_model(fixture.config.yaml, "c", fixture.tokenizer_model, 1);
  const auto c = models::init_model(fixture.config.yaml, "c", fixture.tokenizer_model, 2);
  const std::string k = "encoder.layers.0.self_attn.linear_q.weight";
  EXPECT_TRUE(same_bytes(a.weights.at(k), b.weights.at(k)));
  EXPECT_FALSE(same_bytes(a.weights.at(k), c.weights.at(k)));
}

TEST(ModelInit, AVocabularyMismatchSaysWhatToWrite) {
  const io::ModelFile fixture = io::load_model_file(kFixture);
  std::string yaml = std::regex_replace(fixture.config.yaml, std::regex("num_classes: 64"), "num_classes: 128");
  yaml = std::regex_replace(yaml, std::regex("\\n  vocabulary:\\n(  - [^\\n]*\\n)*"), "\n  vocabulary: []\n");
  EXPECT_ASR_ERROR(models::init_model(yaml, "my.yaml", fixture.tokenizer_model, 1),
                   "my.yaml: decoder.num_classes is 128 but the tokenizer has 64 pieces: set decoder.num_classes: 64");
}

TEST(ModelInit, AConfigWithoutDatasetsExportsWithTheValidationDsNemoTranscribeReads) {
  const io::ModelFile fixture = io::load_model_file(kFixture);
  YAML::Node config = YAML::Load(fixture.config.yaml);
  ASSERT_TRUE(config.remove("validation_ds"));
  const std::string yaml = YAML::Dump(config) + "\n";
  const std::string with = io::with_validation_ds(io::parse_model_config(yaml, "c.yaml"), "c.yaml");
  ASSERT_EQ(with.compare(0, yaml.size(), yaml), 0) << "the config itself is kept byte for byte";
  const YAML::Node ds = YAML::Load(with)["validation_ds"];
  ASSERT_TRUE(ds.IsMap());
  EXPECT_TRUE(ds["manifest_filepath"].IsNull());
  EXPECT_EQ(ds["sample_rate"].as<int>(), 16000);
  EXPECT_FALSE(ds["use_start_end_token"].as<bool>());
  EXPECT_EQ(io::with_validation_ds(io::parse_model_config(with, "c.yaml"), "c.yaml"), with)
      << "a config that has one is unchanged";

  io::ModelFile model = io::load_model_file(kFixture);  // artifacts come from the fixture .nemo
  model.config.yaml = yaml;
  const std::string nemo = test::temp_path("no_validation_ds.nemo");
  io::write_model_nemo(nemo, model);
  EXPECT_TRUE(YAML::Load(io::load_model_file(nemo).config.yaml)["validation_ds"].IsMap());
  std::remove(nemo.c_str());
}
