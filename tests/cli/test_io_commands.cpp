// `asr-adapt info` and `asr-adapt import` as a user runs them on the NeMo fixtures.
#include <gtest/gtest.h>

#include "support/test_util.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>

namespace {

struct Result {
  int code;
  std::string output;
};

Result run_cli(const std::string& args, bool with_stderr = true) {
  std::string cmd = std::string(ASR_CLI_BINARY) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string nemo(const std::string& name) { return std::string(ASR_FIXTURE_DIR) + "/nemo/" + name; }

#define REQUIRE_NEMO(path) \
  if (!std::filesystem::exists(path)) GTEST_SKIP() << (path) << " not generated yet"

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(CliInfo, DescribesANemoModel) {
  REQUIRE_NEMO(nemo("fastconformer_ctc.nemo"));
  Result r = run_cli("info " + nemo("fastconformer_ctc.nemo"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "EncDecCTCModelBPE")) << r.output;
  EXPECT_TRUE(has(r.output, "ConformerEncoder: 2 layers, d_model 64, 4 heads")) << r.output;
  EXPECT_TRUE(has(r.output, "dw_striding 8x, 32 channels")) << r.output;
  EXPECT_TRUE(has(r.output, "conv kernel 9")) << r.output;
  EXPECT_TRUE(has(r.output, "64 tokens + blank = 65 outputs")) << r.output;
  EXPECT_TRUE(has(r.output, "16000 Hz, window 0.025 s (400 samples, hann)")) << r.output;
  EXPECT_TRUE(has(r.output, "reduction mean_volume")) << r.output;
  for (const char* row : {"preprocessor", "encoder.pre_encode", "encoder.layers", "decoder", "total"})
    EXPECT_TRUE(has(r.output, row)) << row << " missing from:\n" << r.output;
}

TEST(CliInfo, JsonCountsAddUp) {
  REQUIRE_NEMO(nemo("conformer_ctc.nemo"));
  Result r = run_cli("info --json " + nemo("conformer_ctc.nemo"), /*with_stderr=*/false);
  ASSERT_EQ(r.code, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["encoder"]["subsampling"], "striding");
  EXPECT_EQ(j["encoder"]["n_layers"], 2);
  EXPECT_EQ(j["num_outputs"].get<int>(), j["vocabulary_size"].get<int>() + 1);
  EXPECT_EQ(j["blank_id"], j["vocabulary_size"]);
  EXPECT_EQ(j["preprocessor"]["n_fft"], 512);
  int64_t params = 0, tensors = 0;
  for (const auto& [name, g] : j["weights"].items()) {
    params += g["parameters"].get<int64_t>();
    tensors += g["tensors"].get<int64_t>();
  }
  EXPECT_EQ(params, j["total"]["parameters"].get<int64_t>());
  EXPECT_EQ(tensors, j["total"]["tensors"].get<int64_t>());
  EXPECT_EQ(j["weights"]["preprocessor"]["parameters"], 0);  // featurizer fb/window are buffers
  // decoder: Conv1d(64, 65, 1) + bias
  EXPECT_EQ(j["weights"]["decoder"]["parameters"].get<int64_t>(), 65 * 64 + 65);
}

TEST(CliImport, WritesAnH5ThatInfoReads) {
  REQUIRE_NEMO(nemo("conformer_ctc.nemo"));
  const std::string out = asr::test::temp_path("cli_import.h5");
  std::filesystem::remove(out);
  Result r = run_cli("import " + nemo("conformer_ctc.nemo") + " -o " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "90 tensors")) << r.output;
  ASSERT_TRUE(std::filesystem::exists(out));

  Result info = run_cli("info " + out);
  EXPECT_EQ(info.code, 0) << info.output;
  EXPECT_TRUE(has(info.output, "asr-adapt HDF5")) << info.output;
  Result info_nemo = run_cli("info " + nemo("conformer_ctc.nemo"));
  // Same model description apart from the first line (file name and format).
  EXPECT_EQ(info.output.substr(info.output.find('\n')), info_nemo.output.substr(info_nemo.output.find('\n')));

  Result again = run_cli("import " + nemo("conformer_ctc.nemo") + " -o " + out);
  EXPECT_EQ(again.code, 1);
  EXPECT_TRUE(has(again.output, "already exists")) << again.output;
  EXPECT_EQ(run_cli("import " + nemo("conformer_ctc.nemo") + " -o " + out + " --force").code, 0);
}

TEST(CliImport, BadModelsFailWithOneLine) {
  REQUIRE_NEMO(nemo("bad/unknown_global.nemo"));
  const std::string out = asr::test::temp_path("never_written.h5");
  Result r = run_cli("import " + nemo("bad/unknown_global.nemo") + " -o " + out);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.output, "unknown_global.nemo")) << r.output;
  EXPECT_TRUE(has(r.output, "refused")) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_FALSE(std::filesystem::exists(out));

  Result t = run_cli("info " + nemo("bad/truncated.nemo"));
  EXPECT_EQ(t.code, 1);
  EXPECT_TRUE(has(t.output, "truncated.nemo")) << t.output;

  EXPECT_EQ(run_cli("import /no/such/model.nemo").code, 2);
  EXPECT_EQ(run_cli("info").code, 2);
  Result help = run_cli("import --help");
  EXPECT_EQ(help.code, 0);
  EXPECT_TRUE(has(help.output, "--output")) << help.output;
}
