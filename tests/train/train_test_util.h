#pragma once
// Training tests run on real shards: the NeMo fixture audio sharded by `asr-adapt shard` for the
// NeMo-made fixture model (tests/fixtures/nemo), and a small experiment config built in code.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "asr/train/experiment_config.h"
#include "support/test_util.h"

namespace asr::test {

inline std::string fixture_model() { return std::string(ASR_FIXTURE_DIR) + "/nemo/conformer_ctc.nemo"; }

// Shards of tests/fixtures/nemo/audio/manifest.json for the fixture model, made once per process
// (or taken from ASR_TEST_SHARDS: ranks started by a test's mpirun reuse the parent's).
inline const std::string& fixture_shards() {
  static const std::string dir = [] {
    if (const char* given = std::getenv("ASR_TEST_SHARDS")) return std::string(given);
    const std::string out = temp_path("fixture_shards");
    const std::string cmd = std::string(ASR_CLI_BINARY) + " shard --model " + fixture_model() + " --manifest " +
                            ASR_FIXTURE_DIR + "/nemo/audio/manifest.json --out " + out + " --threads 1 >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("cannot shard the fixture audio: " + cmd);
    return out;
  }();
  return dir;
}

// Adapters on every encoder layer and the decoder, AdamW + constant lr, validation on the
// training shards, checkpoints every 2 steps: a run that visibly learns in a few seconds.
inline train::ExperimentConfig tiny_adapter_experiment(const std::string& run_dir, int64_t max_steps) {
  train::ExperimentConfig c;
  c.name = "tiny";
  c.run_dir = run_dir;
  c.seed = 7;
  c.model.path = fixture_model();
  models::AdapterSpec enc;
  enc.name = "domain";
  enc.module = "encoder+decoder";
  enc.config = models::AdapterConfig::linear(16);
  c.adapters.push_back(enc);
  c.data.train.shards = {fixture_shards()};
  c.data.train.batch_size = 3;
  c.data.train.num_buckets = 1;
  train::ShardSetConfig dev;
  dev.name = "dev";
  dev.shards = {fixture_shards()};
  dev.batch_size = 5;
  c.data.validation.push_back(dev);
  c.optim.name = "adamw";
  c.optim.lr = 1e-2;
  c.optim.sched.name = "constant";
  c.trainer.max_steps = max_steps;
  c.trainer.val_check_interval = 0;
  c.trainer.log_every_n_steps = 1;
  c.checkpoint.every_n_steps = 2;
  c.checkpoint.keep_last = 2;
  c.logging.progress = "never";
  c.source = "tiny_adapter_experiment";
  return c;
}

}  // namespace asr::test
