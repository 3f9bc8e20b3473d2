// The trained-adapter file: specs and weights survive a save/read round trip bit for bit, applying
// it reproduces the model's outputs, and a different base model or a damaged file is refused.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "asr/autograd/node.h"
#include "asr/io/model_file.h"
#include "asr/models/adapter_file.h"
#include "asr/models/conformer_ctc.h"
#include "models/model_test_util.h"
#include "support/test_util.h"

namespace asr {
namespace {

using models::AdapterConfig;
using models::AdapterSpec;
using models::ConformerCtcModel;

io::ModelConfig no_dropout(io::ModelConfig c) {
  c.encoder.dropout = c.encoder.dropout_pre_encoder = c.encoder.dropout_emb = c.encoder.dropout_att = 0.0;
  return c;
}

// Random adapter weights (the zero inits would make every adapter a no-op and hide mistakes).
void randomise_adapters(nn::Module& m, Generator& gen) {
  autograd::NoGradGuard ng;
  for (auto& [name, t] : m.named_parameters())
    if (name.find("adapter_layer") != std::string::npos)
      t.detach().copy_(Tensor::rand(t.shape(), gen, -0.5, 0.5, t.dtype()));
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  Tensor x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()) == 0;
}

// Every kind of spec the file must carry: Linear on a layer subset (post norm, relu), MHA with
// proj_dim None and with proj_dim -1, a decoder adapter, a disabled one, strategy settings.
void add_varied_adapters(ConformerCtcModel& m) {
  AdapterConfig lin = AdapterConfig::linear(4, "relu", "post", 0.1);
  lin.strategy.stochastic_depth = 0.25;
  lin.strategy.l2_lambda = 1e-3;
  m.add_adapter("lin", lin, {1});
  m.add_adapter("mha_none", AdapterConfig::rel_pos_mha(2, std::nullopt, 0.05));
  m.add_adapter("mha_neg", AdapterConfig::rel_pos_mha(2, -1));
  m.add_adapter("decoder:dec", AdapterConfig::linear(3));
  m.add_adapter("off", AdapterConfig::linear(2, "tanh"));
  m.set_adapter_enabled("off", false);
}

struct Fixture {
  Generator gen{7};
  std::unique_ptr<ConformerCtcModel> model;
  Fixture() {
    model = std::make_unique<ConformerCtcModel>(no_dropout(test::tiny_config("striding", 2)), gen);
    add_varied_adapters(*model);
    randomise_adapters(*model, gen);
    model->train(false);
  }
  // The same base weights, no adapters.
  std::unique_ptr<ConformerCtcModel> fresh_base() const {
    Generator g(99);
    auto m = std::make_unique<ConformerCtcModel>(model->config(), g);
    io::StateDict base;
    for (auto& [k, t] : model->named_state())
      if (k.find("adapter_layer") == std::string::npos) base.emplace(k, t);
    m->load_state_dict(base, true);
    m->train(false);
    return m;
  }
};

void expect_same_spec(const AdapterSpec& a, const AdapterSpec& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.module, b.module);
  EXPECT_EQ(a.layers, b.layers);
  EXPECT_EQ(a.enabled, b.enabled) << a.name;
  EXPECT_EQ(a.config.type, b.config.type);
  EXPECT_EQ(a.config.dim, b.config.dim);
  EXPECT_EQ(a.config.activation, b.config.activation);
  EXPECT_EQ(a.config.norm_position, b.config.norm_position);
  EXPECT_EQ(a.config.dropout, b.config.dropout);
  EXPECT_EQ(a.config.n_head, b.config.n_head);
  EXPECT_EQ(a.config.proj_dim, b.config.proj_dim) << a.name;
  EXPECT_EQ(a.config.strategy.stochastic_depth, b.config.strategy.stochastic_depth);
  EXPECT_EQ(a.config.strategy.l2_lambda, b.config.strategy.l2_lambda);
}

TEST(AdapterFile, RoundTripKeepsSpecsAndWeightsBitwise) {
  Fixture f;
  const std::string path = test::temp_path("adapters_roundtrip.h5");
  const std::string fp = models::base_model_fingerprint(*f.model);
  models::save_adapter_file(path, *f.model, {}, fp, "base.nemo");
  const models::AdapterFile file = models::read_adapter_file(path);
  std::filesystem::remove(path);

  EXPECT_EQ(file.base_fingerprint, fp);
  EXPECT_EQ(file.base_model, "base.nemo");
  const auto specs = f.model->adapter_specs();
  ASSERT_EQ(file.specs.size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) expect_same_spec(file.specs[i], specs[i]);
  EXPECT_FALSE(file.specs[1].config.proj_dim.has_value());
  ASSERT_TRUE(file.specs[2].config.proj_dim.has_value());
  EXPECT_EQ(*file.specs[2].config.proj_dim, -1);
  EXPECT_EQ(file.specs[3].module, "decoder");
  EXPECT_FALSE(file.specs[4].enabled);

  size_t adapter_keys = 0;
  for (const auto& [key, t] : f.model->named_state()) {
    if (key.find("adapter_layer") == std::string::npos) {
      EXPECT_EQ(file.weights.count(key), 0u) << "base weight saved: " << key;
      continue;
    }
    ++adapter_keys;
    auto it = file.weights.find(key);
    ASSERT_NE(it, file.weights.end()) << key;
    EXPECT_TRUE(bitwise_equal(it->second, t)) << key;
  }
  EXPECT_EQ(file.weights.size(), adapter_keys);
  EXPECT_EQ(file.weights.count("encoder.layers.1.adapter_layer.lin.module.0.weight"), 1u);
  EXPECT_EQ(file.weights.count("encoder.layers.0.adapter_layer.lin.module.0.weight"), 0u);
  EXPECT_EQ(file.weights.count("decoder.adapter_layer.dec.module.1.weight"), 1u);
}

TEST(AdapterFile, SavesOnlyTheNamedAdapters) {
  Fixture f;
  const std::string path = test::temp_path("adapters_subset.h5");
  models::save_adapter_file(path, *f.model, {"dec", "mha_none"}, "fp", "");
  const models::AdapterFile file = models::read_adapter_file(path);
  std::filesystem::remove(path);
  ASSERT_EQ(file.specs.size(), 2u);
  EXPECT_EQ(file.specs[0].name, "dec");
  EXPECT_EQ(file.specs[1].name, "mha_none");
  for (const auto& [key, t] : file.weights)
    EXPECT_TRUE(key.find(".dec.") != std::string::npos || key.find(".mha_none.") != std::string::npos) << key;
  EXPECT_ASR_ERROR(models::save_adapter_file(path, *f.model, {"nope"}, "fp", ""), "no adapter named 'nope'");
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(AdapterFile, ApplyOnTheSameBaseGivesIdenticalLogProbs) {
  Fixture f;
  const std::string path = test::temp_path("adapters_apply.h5");
  const std::string fp = models::base_model_fingerprint(*f.model);
  models::save_adapter_file(path, *f.model, {}, fp, "base");
  const models::AdapterFile file = models::read_adapter_file(path);
  std::filesystem::remove(path);

  auto base = f.fresh_base();
  EXPECT_EQ(models::base_model_fingerprint(*base), fp);  // adapters are not part of the digest
  Generator g(3);
  Tensor x = Tensor::randn({2, 16, 40}, g);
  Tensor len = test::lengths_tensor({40, 31});
  autograd::NoGradGuard ng;
  Tensor without = base->forward(x, len).log_probs;
  models::apply_adapter_file(*base, file, fp, path);
  EXPECT_EQ(base->adapter_names(), f.model->adapter_names());
  EXPECT_EQ(base->enabled_adapters(), f.model->enabled_adapters());
  Tensor expected = f.model->forward(x, len).log_probs;
  Tensor got = base->forward(x, len).log_probs;
  EXPECT_TRUE(bitwise_equal(got, expected));
  EXPECT_FALSE(bitwise_equal(got, without));  // the adapters do change the output

  // Applying it again is refused: the names exist now.
  EXPECT_ASR_ERROR(models::apply_adapter_file(*base, file, fp, path), "already has an adapter named 'lin'");
}

TEST(AdapterFile, RefusesADifferentBaseModelNamingBothFingerprints) {
  Fixture f;
  const std::string path = test::temp_path("adapters_wrongbase.h5");
  const std::string fp = models::base_model_fingerprint(*f.model);
  models::save_adapter_file(path, *f.model, {}, fp, "base");
  const models::AdapterFile file = models::read_adapter_file(path);
  std::filesystem::remove(path);

  Generator other_gen(12345);
  ConformerCtcModel other(f.model->config(), other_gen);
  const std::string other_fp = models::base_model_fingerprint(other);
  ASSERT_NE(other_fp, fp);
  try {
    models::apply_adapter_file(other, file, other_fp, path);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("adapter trained on a different base model"), std::string::npos) << msg;
    EXPECT_NE(msg.find(fp), std::string::npos) << msg;
    EXPECT_NE(msg.find(other_fp), std::string::npos) << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
  }
  EXPECT_TRUE(other.adapter_names().empty());  // refused before anything was added
}

TEST(AdapterFile, RefusesMissingAndMisShapedWeights) {
  Fixture f;
  const std::string path = test::temp_path("adapters_bad_weights.h5");
  const std::string fp = models::base_model_fingerprint(*f.model);
  models::save_adapter_file(path, *f.model, {"dec"}, fp, "base");
  models::AdapterFile file = models::read_adapter_file(path);
  std::filesystem::remove(path);
  const std::string key = "decoder.adapter_layer.dec.module.1.weight";
  ASSERT_EQ(file.weights.count(key), 1u);

  models::AdapterFile missing = file;
  missing.weights.erase(key);
  EXPECT_ASR_ERROR(models::apply_adapter_file(*f.fresh_base(), missing, fp, path), "'" + key + "' is missing");

  models::AdapterFile misshaped = file;
  misshaped.weights[key] = Tensor::zeros({1, 2});
  EXPECT_ASR_ERROR(models::apply_adapter_file(*f.fresh_base(), misshaped, fp, path), "has shape [1, 2]");

  models::AdapterFile stray = file;
  stray.weights["encoder.layers.0.adapter_layer.ghost.module.1.weight"] = Tensor::zeros({1});
  EXPECT_ASR_ERROR(models::apply_adapter_file(*f.fresh_base(), stray, fp, path), "belongs to no adapter");
}

TEST(AdapterFile, TruncatedOrForeignFileIsRefusedClearly) {
  Fixture f;
  const std::string path = test::temp_path("adapters_trunc.h5");
  models::save_adapter_file(path, *f.model, {}, "fp", "base");
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  EXPECT_ASR_ERROR(models::read_adapter_file(path), "truncated or corrupt");
  std::filesystem::remove(path);

  EXPECT_ASR_ERROR(models::read_adapter_file(path), "cannot open adapter file");

  // A model checkpoint is HDF5 too, but not an adapter file.
  const std::string ckpt = test::temp_path("not_adapters.h5");
  io::ModelFile mf;
  mf.path = "x.nemo";
  mf.config = f.model->config();
  mf.config.yaml = "{}";
  io::write_model_h5(mf, ckpt);
  EXPECT_ASR_ERROR(models::read_adapter_file(ckpt), "not an asr-adapt adapter file");
  std::filesystem::remove(ckpt);
}

TEST(AdapterFile, FingerprintEqualForNemoAndImportedH5) {
  const std::string nemo = std::string(ASR_FIXTURE_DIR) + "/nemo/conformer_ctc.nemo";
  const std::string h5 = test::temp_path("fingerprint_import.h5");
  io::ModelFile from_nemo = io::load_model_file(nemo);
  io::write_model_h5(from_nemo, h5);  // what `asr-adapt import` does
  io::ModelFile from_h5 = io::load_model_file(h5);
  const std::string fp = models::base_model_fingerprint(from_nemo.weights);
  EXPECT_EQ(fp.rfind("xxh64:", 0), 0u) << fp;
  EXPECT_EQ(models::base_model_fingerprint(from_h5.weights), fp);
  // The loaded model's own state gives the same digest as the file it came from.
  EXPECT_EQ(models::base_model_fingerprint(*models::load_ctc_model(from_h5)), fp);
  std::filesystem::remove(h5);

  // Any change to one base weight changes it.
  io::StateDict changed = from_nemo.weights;
  Tensor w = changed.at("decoder.decoder_layers.0.bias").to(DType::F64).to(DType::F32);
  {
    autograd::NoGradGuard ng;
    w.data<float>()[0] += 1e-3f;
  }
  changed["decoder.decoder_layers.0.bias"] = w;
  EXPECT_NE(models::base_model_fingerprint(changed), fp);
  // The preprocessor and adapters are not part of it.
  io::StateDict extra = from_nemo.weights;
  extra["encoder.layers.0.adapter_layer.a.module.1.weight"] = Tensor::zeros({2});
  extra.erase("preprocessor.featurizer.window");
  EXPECT_EQ(models::base_model_fingerprint(extra), fp);
}

}  // namespace
}  // namespace asr
