// `asr-adapt transcribe` as a user meets it: NeMo's transcripts end to end from a .nemo and a
// manifest, output formats, and one-line errors for bad inputs.
#include <gtest/gtest.h>

#include "support/test_util.h"
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "text/nemo_reference.h"

namespace {

namespace fs = std::filesystem;
using asr::testing::nemo_fixture;

struct CliRun {
  int code;
  std::string out, err;
};

// Runs the CLI with stdout and stderr kept apart (transcripts vs. logs).
CliRun transcribe(const std::string& args) {
  const std::string err_path = asr::test::temp_path("transcribe_stderr.txt");
  std::string cmd = std::string(ASR_CLI_BINARY) + " transcribe " + args + " 2>" + err_path;
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  std::ifstream e(err_path);
  std::stringstream err;
  err << e.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, err.str()};
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

std::string temp_file(const std::string& name, const std::string& text) {
  std::string path = asr::test::temp_path(name);
  std::ofstream(path) << text;
  return path;
}

// Any existing file stands in for --model in the error tests: inputs are checked first.
std::string some_model() {
  std::string nemo = nemo_fixture("conformer_ctc.nemo");
  return fs::exists(nemo) ? nemo : temp_file("not_a_model.nemo", "x");
}

TEST(Transcribe, MissingAudioFileIsAOneLineErrorNamingIt) {
  CliRun r = transcribe("--model " + some_model() + " /no/such/clip.wav");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("/no/such/clip.wav: no such audio file"), std::string::npos) << r.err;
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(Transcribe, NonAudioFileIsAOneLineErrorNamingIt) {
  std::string text = temp_file("notes.wav", "this is not audio\n");
  CliRun r = transcribe("--model " + some_model() + " " + text);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(text + ": not a readable audio file"), std::string::npos) << r.err;
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
}

TEST(Transcribe, ManifestErrorsNameManifestAndLine) {
  std::string m = temp_file("bad_audio_manifest.json",
                            "{\"audio_filepath\": \"/no/such/a.wav\", \"duration\": 1.0}\n");
  CliRun r = transcribe("--model " + some_model() + " --manifest " + m);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(m + ":1: no such audio file /no/such/a.wav"), std::string::npos) << r.err;

  std::string bad = temp_file("bad_json_manifest.json", "{\"audio_filepath\": \"a.wav\", \"duration\": 1}\n{oops\n");
  r = transcribe("--model " + some_model() + " --manifest " + bad);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(bad + ":2: not a JSON object"), std::string::npos) << r.err;
}

TEST(Transcribe, UsageErrorsExitWithTwo) {
  EXPECT_EQ(transcribe("--model " + some_model()).code, 2);  // nothing to transcribe
  std::string m = temp_file("empty_manifest.json", "");
  EXPECT_EQ(transcribe("--model " + some_model() + " --manifest " + m + " a.wav").code, 2);  // both
  EXPECT_EQ(transcribe("a.wav").code, 2);                                                   // no model
  EXPECT_EQ(transcribe("--model " + some_model() + " --batch-size 0 a.wav").code, 2);
  EXPECT_EQ(transcribe("--help").code, 0);
}

// NeMo's own transcripts for the fixture utterances, by audio file name.
std::map<std::string, std::string> nemo_transcripts(const std::string& model) {
  asr::testing::ReferenceH5 ref(nemo_fixture(model + "_reference.h5"));
  std::map<std::string, std::string> t;
  for (int u = 0; ref.has("utt" + std::to_string(u)); ++u) {
    const std::string g = "utt" + std::to_string(u);
    t[fs::path(ref.attr_string(g, "audio_filepath")).filename().string()] = ref.utf8(g + "/transcript_utf8");
  }
  return t;
}

class TranscribeNemo : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!fs::exists(nemo_fixture(GetParam() + ".nemo")) || !fs::exists(nemo_fixture(GetParam() + "_reference.h5")) ||
        !fs::exists(nemo_fixture("audio/manifest.json")))
      GTEST_SKIP() << "NeMo fixture " << GetParam() << " not present (tools/make_nemo_fixtures.py)";
  }
};

TEST_P(TranscribeNemo, ManifestJsonTranscriptsEqualNemos) {
  const auto expected = nemo_transcripts(GetParam());
  // Batch size 2 mixes padded batches with a single: results must not depend on batching.
  CliRun r = transcribe("--model " + nemo_fixture(GetParam() + ".nemo") + " --manifest " +
                     nemo_fixture("audio/manifest.json") + " --json --batch-size 2");
  ASSERT_EQ(r.code, 0) << r.err;
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), expected.size()) << r.out;
  std::vector<std::string> order;
  for (const std::string& l : out) {
    auto j = nlohmann::json::parse(l);
    const std::string name = fs::path(j.at("audio_filepath").get<std::string>()).filename().string();
    order.push_back(name);
    ASSERT_TRUE(expected.count(name)) << name;
    EXPECT_EQ(j.at("pred_text").get<std::string>(), expected.at(name)) << name;
    EXPECT_TRUE(j.contains("text") && j.contains("duration")) << l;  // the manifest's fields stay
  }
  EXPECT_EQ(order.front(), "utt0.wav");  // input order, not length order
  EXPECT_NE(r.err.find("WER "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("real time"), std::string::npos) << r.err;
}

TEST_P(TranscribeNemo, PlainOutputIsPathTabTextPerFile) {
  const auto expected = nemo_transcripts(GetParam());
  const std::string a = nemo_fixture("audio/utt2.wav"), b = nemo_fixture("audio/utt0.wav");
  CliRun r = transcribe("--model " + nemo_fixture(GetParam() + ".nemo") + " " + a + " " + b);
  ASSERT_EQ(r.code, 0) << r.err;
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 2u) << r.out;
  EXPECT_EQ(out[0], a + "\t" + expected.at("utt2.wav"));
  EXPECT_EQ(out[1], b + "\t" + expected.at("utt0.wav"));
  EXPECT_EQ(r.err.find("WER"), std::string::npos) << r.err;  // no references, no WER
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TranscribeNemo, ::testing::Values("conformer_ctc", "fastconformer_ctc"));

}  // namespace
