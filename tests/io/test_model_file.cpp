// Model files end to end: NeMo's .nemo fixtures, .nemo -> .h5 -> load (bitwise, read-only mmap),
// detection by content, and broken inputs that must give one-line errors naming file and problem.
#include <gtest/gtest.h>

#include "support/test_util.h"

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "asr/io/model_file.h"
#include "asr/io/tar_reader.h"
#include "io_test_util.h"

using namespace asr;
using namespace asr::io;
using namespace asr::iotest;
namespace fs = std::filesystem;

namespace {

const char* kModels[] = {"conformer_ctc", "fastconformer_ctc"};

std::string nemo_path(const std::string& model) { return fixture("nemo/" + model + ".nemo"); }

#define REQUIRE_FIXTURE(path) \
  if (!fs::exists(path)) GTEST_SKIP() << (path) << " not generated yet (tools/make_nemo_fixtures.py)"

std::string temp(const std::string& name) { return asr::test::temp_path(name); }

// The members of a fixture .nemo as a list, with one member replaced / dropped / added.
std::vector<std::pair<std::string, std::string>> members_of(const std::string& nemo) {
  auto m = read_tar_members(nemo);
  return {m.begin(), m.end()};
}
std::string& member(std::vector<std::pair<std::string, std::string>>& ms, const std::string& name) {
  for (auto& [n, d] : ms)
    if (n == name) return d;
  throw Error("no member " + name);
}

void expect_same_tensors(const StateDict& a, const StateDict& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, ta] : a) {
    auto it = b.find(key);
    ASSERT_NE(it, b.end()) << key;
    const Tensor& tb = it->second;
    EXPECT_EQ(ta.dtype(), tb.dtype()) << key;
    ASSERT_EQ(ta.shape(), tb.shape()) << key;
    EXPECT_EQ(std::memcmp(ta.contiguous().raw_data(), tb.contiguous().raw_data(), ta.nbytes()), 0) << key;
  }
}

}  // namespace

TEST(ModelFile, LoadsTheNemoFixturesAsTorchDoes) {
  const std::string spots_path = fixture("io/nemo_spot_values.json");
  REQUIRE_FIXTURE(spots_path);
  const nlohmann::json spots = nlohmann::json::parse(read_file(spots_path));
  for (const char* model : kModels) {
    SCOPED_TRACE(model);
    REQUIRE_FIXTURE(nemo_path(model));
    if (!spots.contains(model)) {
      ADD_FAILURE() << "no spot values for " << model << ": rerun tools/make_io_fixtures.py";
      continue;
    }
    ModelFile mf = load_model_file(nemo_path(model));
    const nlohmann::json& s = spots.at(model);
    EXPECT_EQ(mf.config.encoder.d_model, 64);
    EXPECT_EQ(mf.config.encoder.n_layers, 2);
    EXPECT_EQ(mf.config.encoder.subsampling, s.at("subsampling").get<std::string>());
    EXPECT_EQ(mf.tokenizer_model.size(), s.at("tokenizer_bytes").get<size_t>());
    EXPECT_EQ(mf.weights.size(), s.at("num_keys").get<size_t>());
    EXPECT_EQ(mf.weights.size(), expected_weight_shapes(mf.config).size());
    int64_t n_params = 0;
    for (const auto& [key, e] : s.at("tensors").items()) {
      SCOPED_TRACE(key);
      const Tensor& t = mf.weights.at(key);
      EXPECT_EQ(t.shape(), e.at("shape").get<Shape>());
      std::vector<double> v = t.to_vector();
      double sum = 0;
      for (double x : v) sum += x;
      EXPECT_NEAR(sum, e.at("sum").get<double>(), 1e-6 * (1 + std::fabs(sum)));
      const auto head = e.at("head").get<std::vector<double>>();
      for (size_t i = 0; i < head.size(); ++i) EXPECT_EQ(v[i], head[i]) << "element " << i;  // exact f32
    }
    for (const auto& [key, t] : mf.weights)
      if (key.rfind("preprocessor.", 0) != 0 && key.find("running_") == std::string::npos &&
          key.find("num_batches") == std::string::npos)
        n_params += t.numel();
    EXPECT_EQ(n_params, s.at("n_params").get<int64_t>());  // sum(p.numel() for p in model.parameters())
  }
}

TEST(ModelFile, NemoToH5RoundTripIsBitwiseAndReadOnly) {
  for (const char* model : kModels) {
    SCOPED_TRACE(model);
    REQUIRE_FIXTURE(nemo_path(model));
    ModelFile nemo = load_model_file(nemo_path(model));
    const std::string h5 = temp(std::string(model) + ".h5");
    write_model_h5(nemo, h5);
    EXPECT_FALSE(fs::exists(h5 + ".tmp-" + std::to_string(::getpid())));
    EXPECT_EQ(detect_file_kind(h5), FileKind::Hdf5);
    ModelFile back = load_model_file(h5);
    expect_same_tensors(nemo.weights, back.weights);
    EXPECT_EQ(back.config.yaml, nemo.config.yaml);
    EXPECT_EQ(back.tokenizer_model, nemo.tokenizer_model);
    EXPECT_EQ(back.path, h5);
    for (const auto& [key, t] : back.weights) {
      EXPECT_TRUE(t.read_only()) << key;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u) << key << " is not 64-byte aligned";
    }
    Tensor w = back.weights.at("decoder.decoder_layers.0.weight");
    const std::vector<double> before = w.to_vector();
    expect_error([&] { w.fill_(0.0); }, {"read-only"});
    expect_error([&] { w.copy_(Tensor::zeros(w.shape())); }, {"read-only"});
    EXPECT_EQ(w.to_vector(), before);
    // Re-importing over an existing file replaces it.
    write_model_h5(back, h5);
    expect_same_tensors(nemo.weights, load_model_file(h5).weights);
  }
}

TEST(ModelFileDeathTest, RawWritesToMappedWeightsFault) {
  REQUIRE_FIXTURE(nemo_path("conformer_ctc"));
  const std::string h5 = temp("death.h5");
  write_model_h5(load_model_file(nemo_path("conformer_ctc")), h5);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        ModelFile mf = load_model_file(h5);
        *mf.weights.at("decoder.decoder_layers.0.bias").data<float>() = 1.0f;  // PROT_READ page
      },
      "");
}

TEST(ModelFile, DetectsTheFormatByContentNotName) {
  REQUIRE_FIXTURE(nemo_path("conformer_ctc"));
  const std::string disguised = temp("really_a_nemo.h5");
  fs::copy_file(nemo_path("conformer_ctc"), disguised, fs::copy_options::overwrite_existing);
  EXPECT_EQ(detect_file_kind(disguised), FileKind::NemoTar);
  ModelFile mf = load_model_file(disguised);
  const std::string h5_as_nemo = temp("really_an_h5.nemo");
  write_model_h5(mf, h5_as_nemo);
  EXPECT_EQ(load_model_file(h5_as_nemo).weights.size(), mf.weights.size());

  write_file(temp("notes.nemo"), "just some text\n");
  expect_error([&] { load_model_file(temp("notes.nemo")); }, {"notes.nemo", "neither"});
  write_file(temp("empty.nemo"), "");
  expect_error([&] { load_model_file(temp("empty.nemo")); }, {"empty.nemo", "empty"});
  expect_error([&] { load_model_file(temp("does_not_exist.nemo")); }, {"does_not_exist.nemo", "cannot open"});
}

TEST(ModelFile, GzipNemoLoadsLikeThePlainOne) {
  REQUIRE_FIXTURE(nemo_path("conformer_ctc"));
  const std::string gz = temp("conformer_ctc_gz.nemo");
  write_tar(gz, members_of(nemo_path("conformer_ctc")), /*gzip=*/true);
  EXPECT_EQ(detect_file_kind(gz), FileKind::NemoGzip);
  expect_same_tensors(load_model_file(gz).weights, load_model_file(nemo_path("conformer_ctc")).weights);
  // ... and NeMo's own gzip fixture.
  const std::string fixture_gz = fixture("nemo/bad/gzipped_good.nemo");
  REQUIRE_FIXTURE(fixture_gz);
  REQUIRE_FIXTURE(nemo_path("fastconformer_ctc"));
  expect_same_tensors(load_model_file(fixture_gz).weights, load_model_file(nemo_path("fastconformer_ctc")).weights);
}

TEST(ModelFile, BrokenNemoFixturesGiveOneLineErrors) {
  REQUIRE_FIXTURE(fixture("nemo/bad/truncated.nemo"));
  expect_error([] { load_model_file(fixture("nemo/bad/truncated.nemo")); }, {"truncated.nemo", "truncated"});
  expect_error([] { load_model_file(fixture("nemo/bad/no_weights.nemo")); }, {"no_weights.nemo", "no model_weights.ckpt"});
  expect_error([] { load_model_file(fixture("nemo/bad/unknown_global.nemo")); },
               {"unknown_global.nemo", "model_weights.ckpt", "'os.system'", "refused"});
}

TEST(ModelFile, BadConfigsWeightsAndTokenizersAreNamed) {
  REQUIRE_FIXTURE(nemo_path("conformer_ctc"));
  const auto good = members_of(nemo_path("conformer_ctc"));
  const std::string yaml = read_tar_members(nemo_path("conformer_ctc")).at("model_config.yaml");

  auto wrong_shape = good;  // the config promises d_model 96: every weight has the wrong shape
  std::string y96 = replaced(yaml, "d_model: 64", "d_model: 96");
  y96 = replaced(y96, "feat_in: 64", "feat_in: 96");
  member(wrong_shape, "model_config.yaml") = y96;
  write_tar(temp("wrong_shape.nemo"), wrong_shape);
  expect_error([&] { load_model_file(temp("wrong_shape.nemo")); }, {"wrong_shape.nemo", "has shape", "needs"});

  auto bad_encoder = good;
  member(bad_encoder, "model_config.yaml") = replaced(yaml, "modules.ConformerEncoder", "modules.ConvASREncoder");
  write_tar(temp("bad_encoder.nemo"), bad_encoder);
  expect_error([&] { load_model_file(temp("bad_encoder.nemo")); },
               {"bad_encoder.nemo:model_config.yaml:", "encoder._target_", "ConvASREncoder"});

  auto no_tokenizer = good;
  no_tokenizer.erase(std::remove_if(no_tokenizer.begin(), no_tokenizer.end(),
                                    [](const auto& m) { return m.first.find("_tokenizer.model") != std::string::npos; }),
                     no_tokenizer.end());
  write_tar(temp("no_tokenizer.nemo"), no_tokenizer);
  expect_error([&] { load_model_file(temp("no_tokenizer.nemo")); },
               {"no_tokenizer.nemo", "tokenizer.model_path", "not in the archive"});

  auto no_config = good;
  no_config.erase(std::remove_if(no_config.begin(), no_config.end(), [](const auto& m) { return m.first == "model_config.yaml"; }),
                  no_config.end());
  write_tar(temp("no_config.nemo"), no_config);
  expect_error([&] { load_model_file(temp("no_config.nemo")); }, {"no_config.nemo", "model_config.yaml"});
}

TEST(ModelFile, FindsTheTokenizerByAnOldStylePlainPath) {
  REQUIRE_FIXTURE(nemo_path("conformer_ctc"));
  auto ms = members_of(nemo_path("conformer_ctc"));
  std::string& yaml = member(ms, "model_config.yaml");
  const size_t at = yaml.find("model_path: nemo:");
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, yaml.find('\n', at) - at, "model_path: /home/someone/tokenizers/tokenizer.model");
  write_tar(temp("plain_path.nemo"), ms);
  ModelFile mf = load_model_file(temp("plain_path.nemo"));
  EXPECT_EQ(mf.tokenizer_model, load_model_file(nemo_path("conformer_ctc")).tokenizer_model);
}

TEST(ModelFile, BrokenH5CheckpointsGiveOneLineErrors) {
  REQUIRE_FIXTURE(nemo_path("conformer_ctc"));
  ModelFile mf = load_model_file(nemo_path("conformer_ctc"));

  ModelFile wrong = mf;
  wrong.weights["decoder.decoder_layers.0.bias"] = Tensor::zeros({3});
  write_model_h5(wrong, temp("wrong_bias.h5"));
  expect_error([&] { load_model_file(temp("wrong_bias.h5")); },
               {"wrong_bias.h5", "'decoder.decoder_layers.0.bias'", "[3]"});

  ModelFile extra = mf;
  extra.weights["encoder.bogus.weight"] = Tensor::zeros({2});
  write_model_h5(extra, temp("extra.h5"));
  expect_error([&] { load_model_file(temp("extra.h5")); }, {"extra.h5", "unexpected weight 'encoder.bogus.weight'"});

  ModelFile missing = mf;
  missing.weights.erase("encoder.layers.1.norm_out.weight");
  write_model_h5(missing, temp("missing.h5"));
  expect_error([&] { load_model_file(temp("missing.h5")); }, {"missing.h5", "'encoder.layers.1.norm_out.weight' is missing"});

  write_model_h5(mf, temp("good.h5"));
  const std::string bytes = read_file(temp("good.h5"));
  write_file(temp("truncated.h5"), bytes.substr(0, bytes.size() / 2));
  expect_error([&] { load_model_file(temp("truncated.h5")); }, {"truncated.h5"});

  // An HDF5 file that is not ours (a golden-test file).
  expect_error([] { load_model_file(std::string(ASR_GOLDEN_DIR) + "/softmax.h5"); },
               {"softmax.h5", "not an asr-adapt checkpoint"});
  expect_error([&] { write_model_h5(mf, "/no/such/dir/m.h5"); }, {"/no/such/dir/m.h5"});
}

TEST(ModelFile, ExpectedShapesFollowTheConfig) {
  ModelConfig c = parse_model_config(kBaseYaml, "base.yaml");
  auto shapes = expected_weight_shapes(c);
  EXPECT_EQ(shapes.at("encoder.pre_encode.out.weight"), (Shape{64, 64 * 20}));  // 80 -> 40 -> 20
  EXPECT_EQ(shapes.at("encoder.layers.1.self_attn.pos_bias_u"), (Shape{4, 16}));
  EXPECT_EQ(shapes.at("encoder.layers.0.conv.depthwise_conv.weight"), (Shape{64, 1, 31}));
  EXPECT_EQ(shapes.at("encoder.layers.0.conv.batch_norm.num_batches_tracked"), Shape{});
  EXPECT_EQ(shapes.at("decoder.decoder_layers.0.weight"), (Shape{4, 64, 1}));
  EXPECT_EQ(shapes.at("preprocessor.featurizer.fb"), (Shape{1, 80, 257}));
  EXPECT_EQ(shapes.count("encoder.layers.2.norm_out.weight"), 0u);

  std::string fy = replaced(kBaseYaml, "subsampling: striding", "subsampling: dw_striding");
  fy = replaced(fy, "subsampling_factor: 4", "subsampling_factor: 8");
  fy = replaced(fy, "subsampling_conv_channels: -1", "subsampling_conv_channels: 32");
  fy = replaced(fy, "conv_norm_type: batch_norm", "conv_norm_type: layer_norm");
  auto fs8 = expected_weight_shapes(parse_model_config(fy, "fc.yaml"));
  EXPECT_EQ(fs8.at("encoder.pre_encode.conv.2.weight"), (Shape{32, 1, 3, 3}));  // depthwise
  EXPECT_EQ(fs8.at("encoder.pre_encode.conv.6.weight"), (Shape{32, 32, 1, 1}));  // pointwise
  EXPECT_EQ(fs8.at("encoder.pre_encode.out.weight"), (Shape{64, 32 * 10}));
  EXPECT_EQ(fs8.count("encoder.pre_encode.conv.4.weight"), 0u);  // a ReLU
  EXPECT_EQ(fs8.count("encoder.layers.0.conv.batch_norm.running_mean"), 0u);  // layer_norm
}

// A checkpoint rewritten by another tool (chunked, big-endian datasets) cannot be mapped in place:
// those weights are read into memory instead, with the same values, still read-only.
TEST(ModelFile, ChunkedOrBigEndianDatasetsAreReadInstead) {
  REQUIRE_FIXTURE(nemo_path("conformer_ctc"));
  ModelFile mf = load_model_file(nemo_path("conformer_ctc"));
  const std::string h5 = temp("rewritten.h5");
  write_model_h5(mf, h5);
  const std::string chunked_key = "encoder.layers.0.feed_forward1.linear1.weight";
  const std::string be_key = "decoder.decoder_layers.0.bias";
  {
    hid_t f = H5Fopen(h5.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    auto rewrite = [&](const std::string& key, hid_t file_type, bool chunked) {
      const Tensor& t = mf.weights.at(key);
      const std::string name = "/weights/" + key;
      ASSERT_GE(H5Ldelete(f, name.c_str(), H5P_DEFAULT), 0);
      std::vector<hsize_t> dims(t.shape().begin(), t.shape().end());
      hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
      hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
      if (chunked) H5Pset_chunk(dcpl, static_cast<int>(dims.size()), dims.data());
      hid_t ds = H5Dcreate2(f, name.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
      ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.raw_data()), 0);
      H5Dclose(ds);
      H5Pclose(dcpl);
      H5Sclose(space);
    };
    rewrite(chunked_key, H5T_IEEE_F32LE, true);
    rewrite(be_key, H5T_IEEE_F32BE, false);
    H5Fclose(f);
  }
  ModelFile back = load_model_file(h5);
  expect_same_tensors(mf.weights, back.weights);
  EXPECT_TRUE(back.weights.at(chunked_key).read_only());
  EXPECT_TRUE(back.weights.at(be_key).read_only());
  EXPECT_EQ(back.weights.at(be_key).dtype(), DType::F32);
}
