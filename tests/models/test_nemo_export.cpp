// Adapters to and from NeMo: the NeMo-made save_adapters fixture (tools/verify_nemo_export.py)
// imported onto the fixture model reproduces NeMo's log-probs, and an exported adapted .nemo
// loads back (load_model_file + load_ctc_model) with the same adapters, flags and outputs.
// That NeMo itself restores our exports is checked by tools/verify_nemo_export.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "asr/autograd/node.h"
#include "asr/io/model_file.h"
#include "asr/io/nemo_writer.h"
#include "asr/models/adapter_file.h"
#include "asr/models/nemo_adapters.h"
#include "golden/golden_io.h"
#include "models/model_test_util.h"
#include "support/test_util.h"

namespace asr {
namespace {

using models::AdapterSpec;
using models::ConformerCtcModel;

const std::string kNemoDir = std::string(ASR_FIXTURE_DIR) + "/nemo";
const std::string kBase = kNemoDir + "/conformer_ctc.nemo";
const std::string kAdaptersPt = kNemoDir + "/export/adapters.pt";

bool have_fixtures() {
  return std::filesystem::exists(kAdaptersPt) && std::filesystem::exists(kNemoDir + "/export/reference.h5");
}
#define REQUIRE_FIXTURES() \
  if (!have_fixtures()) GTEST_SKIP() << "no " << kAdaptersPt << " (tools/verify_nemo_export.py --make-fixtures)"

// The NeMo adapters fixture placed on `model` through the adapter-file path `import` takes.
void apply_nemo_fixture(ConformerCtcModel& model, const io::ModelFile& base) {
  models::NemoAdapters nemo = models::read_nemo_adapters(kAdaptersPt, base.config.encoder.n_layers);
  models::AdapterFile file;
  file.specs = nemo.specs;
  file.weights = nemo.weights;
  file.base_fingerprint = models::base_model_fingerprint(base.weights);
  models::apply_adapter_file(model, file, file.base_fingerprint, kAdaptersPt);
}

// Log-probs [T', V+1] (valid frames) per fixture utterance, from NeMo's own features.
std::vector<Tensor> fixture_log_probs(const ConformerCtcModel& model) {
  autograd::NoGradGuard ng;
  golden::File ref("../fixtures/nemo/conformer_ctc_reference.h5");
  std::vector<Tensor> out;
  for (int u = 0; u < 5; ++u) {
    const std::string g = "/utt" + std::to_string(u);
    const golden::Array feats = ref.read(g + "/features");
    const auto len = static_cast<int64_t>(ref.read(g + "/feature_length").data[0]);
    models::CtcOutput o = model.forward(feats.f32().unsqueeze(0), test::lengths_tensor({len}));
    const auto frames = static_cast<int64_t>(o.lengths.item());
    out.push_back(o.log_probs.select(0, 0).narrow(0, 0, frames).contiguous());
  }
  return out;
}

double max_diff(const Tensor& got, const golden::Array& ref) {
  const std::vector<double> g = got.to_vector();
  EXPECT_EQ(g.size(), ref.data.size());
  if (g.size() != ref.data.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < g.size(); ++i) m = std::max(m, std::fabs(g[i] - ref.data[i]));
  return m;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.contiguous().raw_data(), b.contiguous().raw_data(), a.nbytes()) == 0;
}

TEST(NemoExport, ImportedNemoSaveAdaptersFileReproducesNemosLogProbs) {
  REQUIRE_FIXTURES();
  const io::ModelFile base = io::load_model_file(kBase);
  auto model = models::load_ctc_model(base);
  apply_nemo_fixture(*model, base);

  const std::vector<AdapterSpec> specs = model->adapter_specs();
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[0].name, "lin");
  EXPECT_EQ(specs[0].module, "encoder");
  EXPECT_EQ(specs[0].config.dim, 8);
  EXPECT_EQ(specs[1].name, "tiny_attn");
  EXPECT_EQ(specs[1].config.type, models::AdapterType::RelPositionMHA);
  EXPECT_EQ(specs[1].config.n_head, 2);
  EXPECT_EQ(specs[1].config.proj_dim, std::optional<int64_t>(16));
  EXPECT_EQ(specs[2].name, "dec");
  EXPECT_EQ(specs[2].module, "decoder");
  EXPECT_EQ(specs[2].config.activation, "relu");
  EXPECT_EQ(specs[2].config.norm_position, "post");
  for (const auto& s : specs) EXPECT_TRUE(s.enabled) << s.name;

  golden::File ref("../fixtures/nemo/export/reference.h5");
  golden::File base_ref("../fixtures/nemo/conformer_ctc_reference.h5");
  const std::vector<Tensor> lps = fixture_log_probs(*model);
  for (size_t u = 0; u < lps.size(); ++u) {
    const double d = max_diff(lps[u], ref.read("/all_enabled/utt" + std::to_string(u) + "/log_probs"));
    std::printf("[ nemo adapters ] utt%zu: log-probs max|diff| vs NeMo %.3g\n", u, d);
    EXPECT_LE(d, 1e-4) << "utt" << u;  // the tolerance of the base model's NeMo parity test
    // The adapters matter: without them the output is NeMo's base reference, far from this one.
    const golden::Array base_lp = base_ref.read("/utt" + std::to_string(u) + "/log_probs");
    golden::Array base_valid = base_lp;
    base_valid.data.resize(lps[u].numel());
    EXPECT_GT(max_diff(lps[u], base_valid), 1.0) << "utt" << u;
  }
}

TEST(NemoExport, ExportedNemoReloadsWithTheSameAdaptersFlagsAndLogProbs) {
  REQUIRE_FIXTURES();
  const io::ModelFile base = io::load_model_file(kBase);
  auto model = models::load_ctc_model(base);
  apply_nemo_fixture(*model, base);
  model->set_adapter_enabled("tiny_attn", false);
  const std::vector<Tensor> before = fixture_log_probs(*model);

  const std::string out = test::temp_path("adapted.nemo");
  models::export_adapted_nemo(out, kBase, base, *model);
  const io::ModelFile back = io::load_model_file(out);
  EXPECT_EQ(back.config.encoder.target, models::kNemoConformerEncoderAdapter);
  EXPECT_EQ(models::base_model_fingerprint(back.weights), models::base_model_fingerprint(base.weights));
  auto reloaded = models::load_ctc_model(back);
  const std::vector<AdapterSpec> want = model->adapter_specs(), got = reloaded->adapter_specs();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].name, want[i].name);
    EXPECT_EQ(got[i].module, want[i].module);
    EXPECT_EQ(got[i].enabled, want[i].enabled) << got[i].name;
  }
  EXPECT_EQ(reloaded->enabled_adapters(), (std::vector<std::string>{"lin", "dec"}));
  const std::vector<Tensor> after = fixture_log_probs(*reloaded);
  for (size_t u = 0; u < before.size(); ++u) EXPECT_TRUE(bitwise_equal(before[u], after[u])) << "utt" << u;

  // Every base member (tokenizer model, vocab files) is copied byte for byte.
  const auto base_members = io::read_nemo_artifacts(kBase), out_members = io::read_nemo_artifacts(out);
  EXPECT_EQ(base_members, out_members);

  // An .h5 import of the export keeps the adapters too (the config travels verbatim).
  const std::string h5 = test::temp_path("adapted.h5");
  io::write_model_h5(back, h5);
  EXPECT_EQ(models::load_ctc_model(io::load_model_file(h5))->enabled_adapters(), (std::vector<std::string>{"lin", "dec"}));
  std::remove(h5.c_str());
  std::remove(out.c_str());
}

TEST(NemoExport, ExportOfAModelWithoutAdaptersIsRefused) {
  const io::ModelFile base = io::load_model_file(kBase);
  auto model = models::load_ctc_model(base);
  const std::string out = test::temp_path("none.nemo");
  EXPECT_ASR_ERROR(models::export_adapted_nemo(out, kBase, base, *model), "has no adapters");
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_ASR_ERROR(models::write_nemo_adapters(out, *model), "no adapters");
}

TEST(NemoExport, AdapterFileOnADifferentBaseModelIsRefused) {
  const io::ModelFile base = io::load_model_file(kBase);
  auto model = models::load_ctc_model(base);
  model->add_adapter("a", models::AdapterConfig::linear(4));
  const std::string path = test::temp_path("a.h5");
  models::save_adapter_file(path, *model, {}, models::base_model_fingerprint(base.weights), kBase);

  const io::ModelFile other = io::load_model_file(kNemoDir + "/fastconformer_ctc.nemo");
  auto other_model = models::load_ctc_model(other);
  EXPECT_ASR_ERROR(models::apply_adapter_file(*other_model, models::read_adapter_file(path),
                                              models::base_model_fingerprint(other.weights), path),
                   "different base model");
  std::remove(path.c_str());
}

TEST(NemoExport, SaveAdaptersFileRoundTripsSpecsAndWeights) {
  const io::ModelFile base = io::load_model_file(kBase);
  auto model = models::load_ctc_model(base);
  model->add_adapter("enc", models::AdapterConfig::linear(4, "gelu", "post", 0.1));
  model->add_adapter("AN4", models::AdapterConfig::rel_pos_mha(2, 8));
  model->add_adapter("AN4-v2", models::AdapterConfig::linear(3));  // "AN4" is a substring of it
  model->add_adapter("decoder:d", models::AdapterConfig::linear(2));
  model->set_adapter_enabled("AN4", false);
  const std::string path = test::temp_path("adapters.pt");
  models::write_nemo_adapters(path, *model);

  const models::NemoAdapters back = models::read_nemo_adapters(path, base.config.encoder.n_layers);
  const std::vector<AdapterSpec> want = model->adapter_specs();
  ASSERT_EQ(back.specs.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(back.specs[i].name, want[i].name);
    EXPECT_EQ(back.specs[i].module, want[i].module);
    EXPECT_EQ(back.specs[i].enabled, want[i].enabled);
    EXPECT_EQ(back.specs[i].config.type, want[i].config.type);
    EXPECT_EQ(back.specs[i].config.dim, want[i].config.dim);
    EXPECT_EQ(back.specs[i].config.activation, want[i].config.activation);
    EXPECT_EQ(back.specs[i].config.norm_position, want[i].config.norm_position);
    EXPECT_EQ(back.specs[i].config.dropout, want[i].config.dropout);
    EXPECT_EQ(back.specs[i].config.proj_dim, want[i].config.proj_dim);
  }
  size_t n = 0;
  for (const auto& [k, t] : model->named_state())
    if (models::is_adapter_key(k)) {
      ++n;
      ASSERT_TRUE(back.weights.count(k)) << k;
      EXPECT_TRUE(bitwise_equal(back.weights.at(k), t)) << k;
    }
  EXPECT_EQ(back.weights.size(), n);
  // A model with a different layer count is not the base these adapters belong to.
  EXPECT_ASR_ERROR(models::read_nemo_adapters(path, 3), "a different base model");
  std::remove(path.c_str());
}

TEST(NemoExport, ConfigSurgeryTouchesOnlyTheEncoderTargetAndTheAdaptersSection) {
  const io::ModelFile base = io::load_model_file(kBase);
  AdapterSpec a;
  a.name = "first";
  a.config = models::AdapterConfig::linear(8);
  AdapterSpec b;
  b.name = "second one";  // needs quoting in YAML
  b.module = "decoder";
  b.config = models::AdapterConfig::linear(4, "swish", "post");
  b.enabled = false;
  const std::string with_a = models::config_with_adapters(base.config.yaml, {a}, 64, "base");
  const std::string with_b = models::config_with_adapters(with_a, {b}, 64, "with_a");
  const std::vector<AdapterSpec> specs = models::adapter_specs_from_config(with_b, "with_b");
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].name, "second one");
  EXPECT_EQ(specs[0].module, "decoder");
  EXPECT_FALSE(specs[0].enabled);
  // Removing every adapter gives the base text back, apart from the encoder's _target_.
  const std::string none = models::config_with_adapters(with_b, {}, 64, "with_b");
  std::string expected = base.config.yaml;
  const std::string old_target = "_target_: nemo.collections.asr.modules.ConformerEncoder\n";
  ASSERT_NE(expected.find(old_target), std::string::npos);
  expected.replace(expected.find(old_target), old_target.size(),
                   std::string("_target_: ") + models::kNemoConformerEncoderAdapter + "\n");
  EXPECT_EQ(none, expected);
}

TEST(NemoExport, AdaptersNemoCannotExpressAreRefused) {
  AdapterSpec partial;
  partial.name = "some_layers";
  partial.layers = {0};
  EXPECT_ASR_ERROR(models::nemo_adapters_yaml({partial}, 64), "every layer");
  const std::string bad = "adapters:\n  x:\n    _target_: nemo.collections.asr.parts.submodules.adapters."
                          "multi_head_attention_adapter_module.MultiHeadAttentionAdapter\n    n_head: 1\n";
  EXPECT_ASR_ERROR(models::adapter_specs_from_config(bad, "cfg.yaml"), "'adapters.x._target_'");
}

TEST(NemoExport, AdapterWeightsWithoutAnAdaptersConfigAreAnError) {
  io::ModelFile file = io::load_model_file(kBase);
  file.weights["decoder.adapter_layer.x.module.0.weight"] = Tensor::zeros({4, 64});
  EXPECT_ASR_ERROR(models::load_ctc_model(file), "declares no adapters");
}

}  // namespace
}  // namespace asr
