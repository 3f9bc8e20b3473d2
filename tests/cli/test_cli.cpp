// The CLI as a user meets it: exit codes, --help/--version, config errors, the demo.
#include <gtest/gtest.h>

#include "support/test_util.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <sys/wait.h>

namespace {

struct Result {
  int code;
  std::string output;
};

Result run(const std::string& args) {
  std::string cmd = std::string(ASR_CLI_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = asr::test::temp_path(name);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(Cli, HelpAndVersionSucceed) {
  Result h = run("--help");
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.output.find("demo"), std::string::npos);
  Result v = run("--version");
  EXPECT_EQ(v.code, 0);
  EXPECT_NE(v.output.find("asr-adapt 0.1.0"), std::string::npos);
  EXPECT_NE(v.output.find("CUDA backend"), std::string::npos);
  EXPECT_NE(v.output.find("OpenBLAS"), std::string::npos);
  EXPECT_EQ(run("demo --help").code, 0);
}

TEST(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run("").code, 2);
  EXPECT_EQ(run("no-such-command").code, 2);
  EXPECT_EQ(run("demo --steps -3").code, 2);
  EXPECT_EQ(run("demo --config /no/such/file.yaml").code, 2);
}

TEST(Cli, ConfigErrorsNameFileLineAndKey) {
  std::string bad_syntax = write_temp("bad_syntax.yaml", "seed: 1\nsteps: [1, 2\n");
  Result r = run("demo --config " + bad_syntax);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("bad_syntax.yaml:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("YAML syntax error"), std::string::npos) << r.output;

  std::string unknown = write_temp("unknown_key.yaml", "seed: 1\nstepz: 10\n");
  r = run("demo --config " + unknown);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("unknown_key.yaml:2: unknown key 'stepz'"), std::string::npos) << r.output;

  std::string wrong_type = write_temp("wrong_type.yaml", "seed: 1\nlr: fast\n");
  r = run("demo --config " + wrong_type);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("wrong_type.yaml:2: key 'lr' has the wrong type"), std::string::npos) << r.output;
}

TEST(Cli, DemoTrainsAndTheLossFalls) {
  std::string metrics = asr::test::temp_path("demo_metrics.jsonl");
  Result r = run("demo --steps 150 --seed 7 --metrics " + metrics);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("after training"), std::string::npos) << r.output;
  std::ifstream in(metrics);
  std::string line, last;
  int lines = 0;
  while (std::getline(in, line)) { ++lines; last = line; }
  EXPECT_EQ(lines, 151);
  EXPECT_NE(last.find("heldout_loss_after"), std::string::npos);
}
