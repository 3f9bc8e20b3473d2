// `asr-adapt eval` and `transcribe --adapter` as a user meets them: WER/CER equal to transcribe's,
// shards and manifests agree, adapter files change the output and --disable-adapters recovers the
// base output exactly, and bad inputs exit 1 (errors) or 2 (usage).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "asr/autograd/node.h"
#include "asr/backend/backend.h"
#include "asr/io/model_file.h"
#include "asr/models/adapter_file.h"
#include "asr/models/conformer_ctc.h"
#include "support/test_util.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kModel = std::string(ASR_FIXTURE_DIR) + "/nemo/conformer_ctc.nemo";
const std::string kManifest = std::string(ASR_FIXTURE_DIR) + "/nemo/audio/manifest.json";

struct CliRun {
  int code;
  std::string out, err;
};

CliRun cli(const std::string& args) {
  const std::string err_path = asr::test::temp_path("eval_cli_stderr.txt");
  const std::string cmd = std::string(ASR_CLI_BINARY) + " " + args + " 2>" + err_path;
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  std::ifstream e(err_path);
  std::stringstream err;
  err << e.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, err.str()};
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A trained-looking adapter file for the fixture model: encoder + decoder LinearAdapters with
// large random weights (so the transcripts move), saved with the model's fingerprint (or `fp`).
std::string make_adapter_file(const std::string& name, const std::string& fp = "") {
  using namespace asr;
  io::ModelFile mf = io::load_model_file(kModel);
  auto model = models::load_ctc_model(mf);
  model->add_adapter("encoder+decoder:probe", models::AdapterConfig::linear(8));
  {
    autograd::NoGradGuard ng;
    Generator gen(11);
    for (auto& [key, t] : model->named_parameters())
      if (key.find("adapter_layer") != std::string::npos)
        t.detach().copy_(Tensor::rand(t.shape(), gen, -3.0, 3.0, t.dtype()));
  }
  const std::string path = test::temp_path(name);
  models::save_adapter_file(path, *model, {}, fp.empty() ? models::base_model_fingerprint(mf.weights) : fp, kModel);
  return path;
}

json summary(const CliRun& r) {
  EXPECT_EQ(r.code, 0) << r.err;
  return json::parse(r.out);
}

TEST(EvalCli, ManifestWerEqualsTranscribes) {
  const CliRun t = cli("transcribe --model " + kModel + " --manifest " + kManifest);
  ASSERT_EQ(t.code, 0) << t.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(t.err, m, std::regex(R"(WER [0-9.]+% \((\d+) errors / (\d+) words\), CER [0-9.]+% \((\d+) errors / (\d+) characters\))")))
      << t.err;

  const CliRun e = cli("eval --model " + kModel + " --manifest " + kManifest + " --json --batch-size 2");
  const json s = summary(e);
  EXPECT_EQ(s["utterances"], 5);
  EXPECT_EQ(s["word_errors"].get<int64_t>(), std::stoll(m[1]));
  EXPECT_EQ(s["words"].get<int64_t>(), std::stoll(m[2]));
  EXPECT_EQ(s["char_errors"].get<int64_t>(), std::stoll(m[3]));
  EXPECT_EQ(s["chars"].get<int64_t>(), std::stoll(m[4]));
  EXPECT_DOUBLE_EQ(s["wer"].get<double>(), std::stod(m[1]) / std::stod(m[2]));
  EXPECT_GT(s["loss"].get<double>(), 0.0);
  // The human summary goes to stderr in every case.
  EXPECT_NE(e.err.find("eval: 5 utterances"), std::string::npos) << e.err;
  EXPECT_NE(e.err.find("WER "), std::string::npos) << e.err;

  const CliRun plain = cli("eval --model " + kModel + " --manifest " + kManifest);
  EXPECT_EQ(plain.code, 0) << plain.err;
  EXPECT_TRUE(plain.out.empty()) << plain.out;
  EXPECT_NE(plain.err.find("WER "), std::string::npos) << plain.err;
}

TEST(EvalCli, ShardsAndManifestAgreeAndHypothesesAreWritten) {
  const std::string shards = asr::test::temp_path("eval_cli_shards");
  const CliRun sh = cli("shard --model " + kModel + " --manifest " + kManifest + " --out " + shards + " --threads 1");
  ASSERT_EQ(sh.code, 0) << sh.err;
  const std::string hyps = asr::test::temp_path("eval_cli_hyps.jsonl");
  const json a = summary(cli("eval --model " + kModel + " --shards " + shards + " --json --out " + hyps));
  const json b = summary(cli("eval --model " + kModel + " --manifest " + kManifest + " --json"));
  EXPECT_EQ(a["utterances"], b["utterances"]);
  EXPECT_EQ(a["word_errors"], b["word_errors"]);
  EXPECT_EQ(a["char_errors"], b["char_errors"]);
  EXPECT_NEAR(a["loss"].get<double>(), b["loss"].get<double>(), 1e-4 * b["loss"].get<double>());

  std::istringstream lines(read_file(hyps));
  int n = 0;
  int64_t errors = 0;
  for (std::string l; std::getline(lines, l); ++n) {
    const json u = json::parse(l);
    EXPECT_EQ(u["id"], n);
    EXPECT_TRUE(u.contains("reference") && u.contains("hypothesis")) << l;
    errors += u["errors"].get<int64_t>();
  }
  EXPECT_EQ(n, 5);
  EXPECT_EQ(errors, a["word_errors"].get<int64_t>());
  fs::remove_all(shards);
  fs::remove(hyps);
}

TEST(EvalCli, AdapterChangesOutputAndDisablingItRecoversTheBaseExactly) {
  const std::string adapter = make_adapter_file("eval_cli_adapter.h5");
  const std::string base_h = asr::test::temp_path("eval_cli_base.jsonl");
  const std::string on_h = asr::test::temp_path("eval_cli_on.jsonl");
  const std::string off_h = asr::test::temp_path("eval_cli_off.jsonl");
  const std::string in = " --manifest " + kManifest + " --json --out ";
  const json base = summary(cli("eval --model " + kModel + in + base_h));
  const json on = summary(cli("eval --model " + kModel + " --adapter " + adapter + in + on_h));
  const json off = summary(cli("eval --model " + kModel + " --adapter " + adapter + " --disable-adapters" + in + off_h));

  EXPECT_EQ(on["adapters_enabled"], json::array({"probe"}));
  EXPECT_NE(on["loss"], base["loss"]);
  EXPECT_NE(read_file(on_h), read_file(base_h));
  EXPECT_EQ(off["adapters_enabled"], json::array());
  for (const char* k : {"wer", "cer", "loss", "word_errors", "char_errors", "utterances"}) EXPECT_EQ(off[k], base[k]) << k;
  EXPECT_EQ(read_file(off_h), read_file(base_h));

  // transcribe --adapter gives the hypotheses eval reports with the adapter on.
  const CliRun t = cli("transcribe --model " + kModel + " --adapter " + adapter + " --manifest " + kManifest + " --json");
  ASSERT_EQ(t.code, 0) << t.err;
  std::istringstream tl(t.out), el(read_file(on_h));
  std::string a, b;
  int n = 0;
  while (std::getline(tl, a) && std::getline(el, b)) {
    EXPECT_EQ(json::parse(a)["pred_text"], json::parse(b)["hypothesis"]) << n;
    ++n;
  }
  EXPECT_EQ(n, 5);
  // Audio files may follow --adapter directly: it takes one file per use.
  const std::string wav = std::string(ASR_FIXTURE_DIR) + "/nemo/audio/utt0.wav";
  const CliRun f = cli("transcribe --model " + kModel + " --adapter " + adapter + " " + wav);
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_NE(f.out.find("utt0.wav\t"), std::string::npos) << f.out;
  for (const auto& p : {adapter, base_h, on_h, off_h}) fs::remove(p);
}

TEST(EvalCli, BadAdapterFilesAreErrorsExitingOne) {
  CliRun r = cli("eval --model " + kModel + " --manifest " + kManifest + " --adapter /no/such/adapter.h5");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("/no/such/adapter.h5"), std::string::npos) << r.err;

  const std::string other = make_adapter_file("eval_cli_other_base.h5", "xxh64:0123456789abcdef");
  r = cli("eval --model " + kModel + " --manifest " + kManifest + " --adapter " + other);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("adapter trained on a different base model"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(other), std::string::npos) << r.err;
  r = cli("transcribe --model " + kModel + " --manifest " + kManifest + " --adapter " + other);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("adapter trained on a different base model"), std::string::npos) << r.err;
  fs::remove(other);

  r = cli("eval --model " + kModel + " --manifest " + kManifest + " --adapter " + kManifest);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("truncated or corrupt adapter file"), std::string::npos) << r.err;
}

TEST(EvalCli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(cli("eval --model " + kModel).code, 2);                                       // no input
  EXPECT_EQ(cli("eval --model " + kModel + " --manifest " + kManifest + " --shards d").code, 2);  // both
  EXPECT_EQ(cli("eval --manifest " + kManifest).code, 2);                                // no model
  EXPECT_EQ(cli("eval --model " + kModel + " --manifest " + kManifest + " --batch-size 0").code, 2);
  EXPECT_EQ(cli("eval --model " + kModel + " --manifest " + kManifest + " --bogus").code, 2);
  EXPECT_EQ(cli("eval --help").code, 0);
}

TEST(EvalCli, ManifestWithoutTextIsAnErrorNamingTheLine) {
  const std::string m = asr::test::temp_path("eval_cli_no_text.json");
  std::ofstream(m) << "{\"audio_filepath\": \"" << ASR_FIXTURE_DIR << "/nemo/audio/utt0.wav\", \"duration\": 1.7}\n";
  const CliRun r = cli("eval --model " + kModel + " --manifest " + m);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(m + ":1: no \"text\""), std::string::npos) << r.err;
  fs::remove(m);
}

}  // namespace

// --device / --precision: on the emulated CUDA device (ASR_EMULATE_CUDA=1, the CPU kernels) fp32
// must give the CPU's numbers exactly; bf16 stays within 1% of the loss. Without a GPU (and no
// emulation) --device cuda is a one-line error exiting 1.
TEST(EvalCli, DeviceAndPrecisionOptionsPlaceTheModel) {
  const std::string base = "eval --model " + kModel + " --manifest " + kManifest + " --json";
  const json cpu = summary(cli(base));
  if (asr::cuda_device_count() == 0) {
    const CliRun r = cli(base + " --device cuda");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("--device cuda: backend: "), std::string::npos) << r.err;  // no GPU, or no CUDA in this build
  }
  EXPECT_EQ(cli(base + " --precision fp16").code, 2);
  setenv("ASR_EMULATE_CUDA", "1", 1);  // inherited by the CLI processes below
  const json dev = summary(cli(base + " --device cuda"));
  const json bf16 = summary(cli(base + " --device cuda --precision bf16"));
  unsetenv("ASR_EMULATE_CUDA");
  EXPECT_EQ(dev["loss"], cpu["loss"]);
  EXPECT_EQ(dev["word_errors"], cpu["word_errors"]);
  EXPECT_NE(bf16["loss"], cpu["loss"]);
  EXPECT_NEAR(bf16["loss"].get<double>(), cpu["loss"].get<double>(), 0.01 * cpu["loss"].get<double>());
}
