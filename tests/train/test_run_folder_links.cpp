// Run outputs never follow a symlink out of the run folder: a link planted inside it (the metrics
// log, the checkpoints folder, a checkpoint) stops the run before anything is written through it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "asr/io/run_folder.h"
#include "asr/train/trainer.h"
#include "train_test_util.h"

namespace fs = std::filesystem;
using namespace asr;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(RunFolderLinks, AMetricsLogLinkedOutsideIsRefusedAndItsTargetUntouched) {
  const std::string run = test::temp_path("links_metrics");
  const std::string victim = test::temp_path("links_victim.txt");
  { std::ofstream(victim) << "precious\n"; }
  fs::create_directories(run);
  fs::create_symlink(victim, run + "/metrics.jsonl");
  train::ExperimentConfig c = test::tiny_adapter_experiment(run, 2);
  EXPECT_ASR_ERROR(train::train(c), "a symlink inside the run folder");
  EXPECT_EQ(read_all(victim), "precious\n");
  EXPECT_FALSE(fs::exists(run + "/config.yaml")) << "nothing is written once a link is found";
}

TEST(RunFolderLinks, ACheckpointsFolderLinkedOutsideIsRefusedAndStaysEmpty) {
  const std::string run = test::temp_path("links_ckpt");
  const std::string elsewhere = test::temp_path("links_elsewhere");
  fs::create_directories(elsewhere);
  fs::create_directories(run);
  fs::create_directory_symlink(elsewhere, run + "/checkpoints");
  train::ExperimentConfig c = test::tiny_adapter_experiment(run, 2);
  EXPECT_ASR_ERROR(train::train(c), "checkpoints: a symlink inside the run folder");
  EXPECT_TRUE(fs::is_empty(elsewhere));
}

TEST(RunFolderLinks, ALinkPlantedAmongCheckpointsStopsTheResumedRun) {
  const std::string run = test::temp_path("links_resume");
  train::ExperimentConfig c = test::tiny_adapter_experiment(run, 2);
  c.data.validation.clear();
  train::train(c);
  const std::string outside = test::temp_path("links_outside_file");
  { std::ofstream(outside) << "x"; }
  fs::create_symlink(outside, run + "/checkpoints/planted");
  c.trainer.max_steps = 4;
  EXPECT_ASR_ERROR(train::train(c), "planted: a symlink inside the run folder");
}

TEST(RunFolderLinks, TheRunFolderItselfMayBeALink) {
  const std::string real = test::temp_path("links_real_run");
  const std::string link = test::temp_path("links_run_link");
  fs::create_directories(real);
  fs::create_directory_symlink(real, link);
  EXPECT_NO_THROW(io::refuse_symlinks_inside(link));
  EXPECT_NO_THROW(io::refuse_symlinks_inside(test::temp_path("links_missing")));
}
