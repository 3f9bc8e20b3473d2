// `asr-adapt import --adapters` and `asr-adapt export` as a user runs them on the NeMo fixtures:
// NeMo's save_adapters file -> adapter file -> adapted .nemo / save_adapters file again.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/wait.h>

#include "support/test_util.h"

namespace {

struct Result {
  int code;
  std::string output;
};

Result run_cli(const std::string& args) {
  const std::string cmd = std::string(ASR_CLI_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string nemo(const std::string& name) { return std::string(ASR_FIXTURE_DIR) + "/nemo/" + name; }
bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

#define REQUIRE_EXPORT_FIXTURES()                       \
  if (!std::filesystem::exists(nemo("export/adapters.pt"))) \
  GTEST_SKIP() << "no NeMo adapters fixture (tools/verify_nemo_export.py --make-fixtures)"

// import --adapters: the adapter file every later command takes.
std::string import_fixture(const std::string& tag) {
  const std::string out = asr::test::temp_path(tag + "_A.h5");
  const Result r = run_cli("import --adapters " + nemo("export/adapters.pt") + " --model " +
                           nemo("conformer_ctc.nemo") + " -o " + out + " --force");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "adapter 'tiny_attn' (encoder): enabled")) << r.output;
  return out;
}

}  // namespace

TEST(CliExport, ImportedNemoAdaptersExportToANemoThatTranscribes) {
  REQUIRE_EXPORT_FIXTURES();
  const std::string a = import_fixture("nemo");
  const std::string out = asr::test::temp_path("adapted.nemo");
  Result r = run_cli("export --model " + nemo("conformer_ctc.nemo") + " --adapter " + a + " --disable dec -o " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "adapter 'dec' (decoder, LinearAdapter): disabled")) << r.output;
  EXPECT_TRUE(has(r.output, "adapted .nemo")) << r.output;
  r = run_cli("info " + out);
  EXPECT_EQ(r.code, 0) << r.output;
  r = run_cli("transcribe --model " + out + " " + nemo("audio/utt0.wav"));
  EXPECT_EQ(r.code, 0) << r.output;
  // An existing output is kept unless --force.
  r = run_cli("export --model " + nemo("conformer_ctc.nemo") + " --adapter " + a + " -o " + out);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.output, "already exists")) << r.output;
  std::remove(out.c_str());
  std::remove(a.c_str());
}

TEST(CliExport, NemoAdaptersFileComesBackThroughImport) {
  REQUIRE_EXPORT_FIXTURES();
  const std::string a = import_fixture("pt");
  const std::string pt = asr::test::temp_path("roundtrip.pt");
  Result r = run_cli("export --model " + nemo("conformer_ctc.nemo") + " --adapter " + a + " --nemo-adapters -o " + pt);
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string again = asr::test::temp_path("again.h5");
  r = run_cli("import --adapters " + pt + " --model " + nemo("conformer_ctc.nemo") + " -o " + again);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "3 adapters")) << r.output;
  for (const auto& f : {a, pt, again}) std::remove(f.c_str());
}

TEST(CliExport, AdapterFileOfAnotherBaseModelIsRefused) {
  REQUIRE_EXPORT_FIXTURES();
  const std::string a = import_fixture("other");
  const std::string out = asr::test::temp_path("other.nemo");
  const Result r = run_cli("export --model " + nemo("fastconformer_ctc.nemo") + " --adapter " + a + " -o " + out);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(has(r.output, "different base model")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(out));
  std::remove(a.c_str());
}

TEST(CliExport, AModelWithoutAdaptersIsExportedWhole) {
  // From the .nemo (artifacts copied) and from its imported .h5 (NeMo's vocab files made from the
  // stored tokenizer): both read back with the same weights.
  const std::string h5 = asr::test::temp_path("plain.h5"), a = asr::test::temp_path("plain_a.nemo"),
                    b = asr::test::temp_path("plain_b.nemo");
  ASSERT_EQ(run_cli("import " + nemo("conformer_ctc.nemo") + " -o " + h5).code, 0);
  const Result ra = run_cli("export --model " + nemo("conformer_ctc.nemo") + " -o " + a);
  ASSERT_EQ(ra.code, 0) << ra.output;
  const Result rb = run_cli("export --model " + h5 + " -o " + b);
  ASSERT_EQ(rb.code, 0) << rb.output;
  const Result ia = run_cli("info " + a), ib = run_cli("info " + b);
  EXPECT_TRUE(has(ia.output, "328,449")) << ia.output;
  EXPECT_TRUE(has(ib.output, "328,449")) << ib.output;
  for (const auto& p : {h5, a, b}) std::remove(p.c_str());
}

TEST(CliExport, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run_cli("export --model " + nemo("conformer_ctc.nemo")).code, 2);         // no -o
  EXPECT_EQ(run_cli("import --adapters " + nemo("conformer_ctc.nemo")).code, 2);       // no --model
  EXPECT_EQ(run_cli("import").code, 2);                                                // nothing to import
  EXPECT_EQ(run_cli("import " + nemo("conformer_ctc.nemo") + " --adapters " + nemo("conformer_ctc.nemo") +
                    " --model " + nemo("conformer_ctc.nemo")).code, 2);                // both modes
  const Result help = run_cli("export --help");
  EXPECT_EQ(help.code, 0);
  EXPECT_TRUE(has(help.output, "--nemo-adapters")) << help.output;
}
