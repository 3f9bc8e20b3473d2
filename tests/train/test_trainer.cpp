// The trainer end to end on the fixture model and real (sharded) audio: adapters learn, the base
// model is untouched and recoverable bit for bit, resume is bitwise exact, checkpoints rotate,
// non-finite steps are skipped and then stop the run, full training updates every parameter.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <csignal>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "asr/autograd/node.h"
#include "asr/backend/backend.h"
#include "support/emulated_cuda.h"
#include "support/gradcheck.h"
#include "asr/io/model_file.h"
#include "asr/models/adapter_file.h"
#include "asr/models/conformer_ctc.h"
#include "asr/train/checkpoint.h"
#include "asr/train/evaluate.h"
#include "asr/train/trainer.h"
#include "train_test_util.h"

namespace fs = std::filesystem;
using namespace asr;

namespace {

// Log-probs of `model` (eval mode) on the fixture shards, one batch.
Tensor log_probs_on_fixture(const models::ConformerCtcModel& model) {
  data::LoaderConfig lc;
  lc.shard_dirs = {test::fixture_shards()};
  lc.batch_size = 5;
  lc.shuffle = false;
  lc.prefetch_batches = 0;
  data::Loader loader(lc);
  data::Batch b;
  EXPECT_TRUE(loader.next(b));
  autograd::NoGradGuard ng;
  return model.forward(b.features, b.feature_lengths).log_probs.contiguous();
}

using test::bitwise_equal;

}  // namespace

TEST(Trainer, AdaptersLearnTheFixtureAudioAndTheBaseIsRecoverable) {
  const std::string run = test::temp_path("train_learn");
  train::ExperimentConfig c = test::tiny_adapter_experiment(run, 40);
  c.trainer.val_check_interval = 20;

  io::ModelFile base_file = io::load_model_file(c.model.path);
  auto base = models::load_ctc_model(base_file);
  auto tok = text::Tokenizer::from_sentencepiece(base_file.tokenizer_model, c.model.path);
  const train::EvalResult before = train::evaluate_shards(*base, tok, {test::fixture_shards()});

  const train::TrainResult r = train::train(c);
  ASSERT_EQ(r.steps, 40);
  ASSERT_EQ(r.step_losses.size(), 40u);
  EXPECT_LT(r.step_losses.back(), 0.5 * r.step_losses.front()) << "loss did not fall";
  EXPECT_LT(r.last_validation.at("dev/loss"), 0.5 * before.loss);
  EXPECT_LT(r.last_validation.at("dev/wer"), before.wer) << "WER did not fall";
  EXPECT_GT(r.trainable_parameters, 0);
  EXPECT_LT(r.trainable_parameters * 10, r.total_parameters);
  EXPECT_TRUE(fs::exists(r.output_file));
  EXPECT_TRUE(fs::exists(run + "/config.yaml"));
  EXPECT_TRUE(fs::exists(run + "/metrics.jsonl"));

  // The adapter file on the base model: enabled it changes the output, disabled the output is
  // the base model's bit for bit.
  const Tensor base_out = log_probs_on_fixture(*base);
  auto adapted = models::load_ctc_model(base_file);
  const models::AdapterFile af = models::read_adapter_file(r.output_file);
  models::apply_adapter_file(*adapted, af, models::base_model_fingerprint(base_file.weights), r.output_file);
  adapted->train(false);
  EXPECT_FALSE(bitwise_equal(log_probs_on_fixture(*adapted), base_out));
  adapted->set_all_adapters_enabled(false);
  EXPECT_TRUE(bitwise_equal(log_probs_on_fixture(*adapted), base_out));
  // Training never wrote to the frozen weights.
  EXPECT_EQ(models::base_model_fingerprint(io::load_model_file(c.model.path).weights),
            models::base_model_fingerprint(base_file.weights));
}

TEST(Trainer, MetricsReportTheGemmWorkOfEachLoggingWindow) {
  // train/gemm_gflops_per_second: the backend's GEMM FLOP counter over the window's step time.
  const std::string run = test::temp_path("train_gemm_rate");
  train::ExperimentConfig c = test::tiny_adapter_experiment(run, 4);
  c.trainer.log_every_n_steps = 2;
  c.data.validation.clear();  // every counted FLOP is then a training step's
  const uint64_t flops_before = backend_for(Device::cpu()).stats().gemm_flops;
  const train::TrainResult r = train::train(c);
  const double gflop = static_cast<double>(backend_for(Device::cpu()).stats().gemm_flops - flops_before) / 1e9;
  ASSERT_EQ(r.steps, 4);
  std::ifstream in(run + "/metrics.jsonl");
  double logged_gflop = 0;
  int windows = 0;
  for (std::string line; std::getline(in, line);) {
    const auto row = nlohmann::json::parse(line);
    if (!row.contains("train/loss")) continue;
    ++windows;
    const double per_step = row.at("train/gemm_gflop_per_step").get<double>();
    const double rate = row.at("train/gemm_gflops_per_second").get<double>();
    EXPECT_GT(per_step, 0.0) << line;
    EXPECT_GT(rate, 0.0) << line;
    logged_gflop += 2 * per_step;  // two steps per window
  }
  EXPECT_EQ(windows, 2);
  // The windows' work adds up to every GEMM FLOP the run did: no window counted twice or missed.
  EXPECT_NEAR(logged_gflop, gflop, 1e-9 * gflop);
}

TEST(Trainer, ResumedRunIsBitwiseIdenticalToAnUninterruptedOne) {
  const std::string a = test::temp_path("train_straight"), b = test::temp_path("train_resumed");
  train::ExperimentConfig ca = test::tiny_adapter_experiment(a, 6);
  ca.data.spec_augment.time_masks = 2;  // RNG state must be restored too
  ca.data.spec_augment.freq_masks = 1;
  ca.adapters[0].config.dropout = 0.1;
  const train::TrainResult straight = train::train(ca);

  train::ExperimentConfig cb = ca;
  cb.run_dir = b;
  train::TrainOptions halt;
  halt.halt_after_step = 4;
  const train::TrainResult first = train::train(cb, halt);
  ASSERT_TRUE(first.halted);
  ASSERT_EQ(first.steps, 4);
  const train::TrainResult second = train::train(cb);  // resume: auto
  EXPECT_EQ(second.resumed_from_step, 4);
  ASSERT_EQ(second.step_losses.size(), 2u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(first.step_losses[i], straight.step_losses[i]) << "step " << i + 1;
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(second.step_losses[i], straight.step_losses[4 + i]) << "step " << i + 5;
  const models::AdapterFile x = models::read_adapter_file(straight.output_file);
  const models::AdapterFile y = models::read_adapter_file(second.output_file);
  ASSERT_EQ(x.weights.size(), y.weights.size());
  for (const auto& [k, t] : x.weights) EXPECT_TRUE(bitwise_equal(t, y.weights.at(k))) << k;
}

TEST(Trainer, CheckpointsRotateAndTheLatestPointerNamesACompleteFolder) {
  const std::string run = test::temp_path("train_rotate");
  train::ExperimentConfig c = test::tiny_adapter_experiment(run, 8);
  c.data.validation.clear();
  train::train(c);
  std::vector<std::string> folders;
  for (const auto& e : fs::directory_iterator(run + "/checkpoints"))
    if (e.is_directory()) folders.push_back(e.path().filename().string());
  std::sort(folders.begin(), folders.end());
  EXPECT_EQ(folders, (std::vector<std::string>{"step-00000006", "step-00000008"}));
  const std::string latest = train::latest_checkpoint(run + "/checkpoints");
  EXPECT_EQ(fs::path(latest).filename(), "step-00000008");
  const train::TrainingState s = train::read_training_state(latest);
  EXPECT_EQ(s.step, 8);
  EXPECT_TRUE(fs::exists(latest + "/adapters.h5"));
  EXPECT_TRUE(fs::exists(latest + "/config.yaml"));

  // A crash while writing the next checkpoint leaves a temporary folder behind: resume ignores it.
  fs::create_directories(run + "/checkpoints/.tmp-step-00000010-1");
  std::ofstream(run + "/checkpoints/.tmp-step-00000010-1/state.h5") << "partial";
  c.trainer.max_steps = 10;
  const train::TrainResult r = train::train(c);
  EXPECT_EQ(r.resumed_from_step, 8);
  EXPECT_EQ(r.steps, 10);
}

TEST(Trainer, ResumeNeverRefusesARunFolderWithCheckpoints) {
  const std::string run = test::temp_path("train_never");
  train::ExperimentConfig c = test::tiny_adapter_experiment(run, 2);
  c.data.validation.clear();
  train::train(c);
  c.resume = "never";
  EXPECT_ASR_ERROR(train::train(c), "already holds checkpoints");
}

TEST(Trainer, ACheckpointOfAnotherExperimentIsRefused) {
  const std::string run = test::temp_path("train_other");
  train::ExperimentConfig c = test::tiny_adapter_experiment(run, 2);
  c.data.validation.clear();
  train::train(c);
  c.adapters[0].config.dim = 8;  // different trainable size
  EXPECT_ASR_ERROR(train::train(c), "different experiment");
}

TEST(Trainer, NonFiniteStepsAreSkippedThenStopTheRun) {
  const std::string run = test::temp_path("train_nan");
  train::ExperimentConfig c = test::tiny_adapter_experiment(run, 50);
  c.data.validation.clear();
  c.optim.name = "sgd";
  c.optim.lr = 1e30;  // the first update overflows the adapters; every later loss is non-finite
  c.loss.zero_infinity = false;
  c.trainer.max_consecutive_nonfinite = 3;
  c.checkpoint.every_n_steps = 1;
  EXPECT_ASR_ERROR(train::train(c), "3 non-finite steps in a row");
  // The run stopped with a readable message and the last good checkpoint is still there.
  EXPECT_FALSE(train::latest_checkpoint(run + "/checkpoints").empty());
}

TEST(Trainer, FullTrainingUpdatesEveryParameterAndBatchNormStatistics) {
  const std::string run = test::temp_path("train_full");
  train::ExperimentConfig c = test::tiny_adapter_experiment(run, 3);
  c.model.train_mode = "full";
  c.adapters.clear();
  c.data.validation.clear();
  c.optim.lr = 1e-3;
  const train::TrainResult r = train::train(c);
  EXPECT_EQ(r.trainable_parameters, r.total_parameters);
  ASSERT_TRUE(fs::exists(r.output_file));
  io::ModelFile before = io::load_model_file(c.model.path);
  io::ModelFile after = io::load_model_file(r.output_file);
  int64_t changed = 0, total = 0;
  for (const auto& [k, t] : before.weights) {
    if (k.rfind("preprocessor.", 0) == 0 || k.find("num_batches_tracked") != std::string::npos) continue;
    ++total;
    if (!bitwise_equal(t, after.weights.at(k))) ++changed;
  }
  EXPECT_EQ(changed, total) << "every parameter and running statistic should move";
}

TEST(Trainer, SigusrOneStopsAfterTheStepWithACheckpointAndTheRunResumes) {
  const std::string run = test::temp_path("train_preempt");
  train::ExperimentConfig c = test::tiny_adapter_experiment(run, 400);
  c.data.validation.clear();
  c.checkpoint.every_n_steps = 0;  // only the signal (and the end) write checkpoints
  // Signal the process once the first metrics line shows training is under way.
  std::thread signaller([&] {
    for (int i = 0; i < 3000 && !fs::exists(run + "/metrics.jsonl"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    kill(getpid(), SIGUSR1);
  });
  const train::TrainResult r = train::train(c);
  signaller.join();
  ASSERT_TRUE(r.preempted);
  EXPECT_EQ(r.stop_signal, "SIGUSR1");
  EXPECT_LT(r.steps, 400);
  EXPECT_TRUE(r.output_file.empty());
  const std::string latest = train::latest_checkpoint(run + "/checkpoints");
  ASSERT_FALSE(latest.empty());
  EXPECT_EQ(train::read_training_state(latest).step, r.steps);

  c.trainer.max_steps = r.steps + 2;
  const train::TrainResult resumed = train::train(c);
  EXPECT_FALSE(resumed.preempted);
  EXPECT_EQ(resumed.resumed_from_step, r.steps);
  EXPECT_EQ(resumed.steps, r.steps + 2);
}

TEST(Trainer, MaxEpochsEndsTheRunAfterThatManyPassesOverTheData) {
  const std::string run = test::temp_path("train_epochs");
  train::ExperimentConfig c = test::tiny_adapter_experiment(run, 1);
  c.data.validation.clear();
  c.trainer.max_steps.reset();
  c.trainer.max_epochs = 3;  // 5 utterances in batches of 3: 2 batches (steps) per epoch
  const train::TrainResult r = train::train(c);
  EXPECT_EQ(r.steps, 6);
  EXPECT_FALSE(r.output_file.empty());
}

TEST(Trainer, TheAdaptersL2AuxiliaryLossIsAddedToTheCtcLoss) {
  train::ExperimentConfig plain = test::tiny_adapter_experiment(test::temp_path("train_l2_off"), 3);
  plain.data.validation.clear();
  train::ExperimentConfig l2 = plain;
  l2.run_dir = test::temp_path("train_l2_on");
  l2.adapters[0].config.strategy.l2_lambda = 10.0;
  const train::TrainResult a = train::train(plain), b = train::train(l2);
  // The first step starts from zero-initialised adapter outputs: no auxiliary loss yet.
  EXPECT_EQ(a.step_losses[0], b.step_losses[0]);
  // Later steps pay for the adapters' output norm.
  EXPECT_NE(a.step_losses[2], b.step_losses[2]);
}

// trainer.device: cuda on the emulated device (Device::cuda(0) served by a second CPU backend):
// every placement step of the GPU path runs here (model and flat buffers moved, CPU batches
// moved by forward, optimizer and clipping through host copies, checkpoints and outputs copied
// back), with the CPU's kernels, so the run must equal the CPU run bit for bit.
using test::EmulatedCuda;

TEST(Trainer, TrainingOnTheDevicePathMatchesTheCpuRunBitForBit) {
  train::ExperimentConfig cpu = test::tiny_adapter_experiment(test::temp_path("train_dev_cpu"), 4);
  cpu.trainer.gradient_clip_val = 0.5;  // the clipping's host round trip too
  train::ExperimentConfig dev = cpu;
  dev.run_dir = test::temp_path("train_dev_cuda");
  dev.trainer.device = "cuda";
  const train::TrainResult a = train::train(cpu);
  EmulatedCuda emulated;
  const train::TrainResult b = train::train(dev);
  EXPECT_EQ(a.device, "cpu");
  EXPECT_EQ(b.device, "cuda:0");
  ASSERT_EQ(a.step_losses.size(), 4u);
  EXPECT_EQ(a.step_losses, b.step_losses);
  EXPECT_EQ(a.last_validation, b.last_validation);
  const models::AdapterFile fa = models::read_adapter_file(a.output_file);
  const models::AdapterFile fb = models::read_adapter_file(b.output_file);
  ASSERT_EQ(fa.weights.size(), fb.weights.size());
  for (const auto& [k, t] : fa.weights) EXPECT_TRUE(bitwise_equal(t, fb.weights.at(k))) << k;
  // Resuming on the device from a device checkpoint continues the same trajectory.
  train::ExperimentConfig more = dev;
  more.trainer.max_steps = 6;
  more.resume = "auto";
  const train::TrainResult c = train::train(more);
  EXPECT_EQ(c.resumed_from_step, 4);
  EXPECT_EQ(c.steps, 6);
}

TEST(Trainer, Bf16PrecisionTrainsWithLossesWithinOnePercentOfFp32) {
  train::ExperimentConfig fp32 = test::tiny_adapter_experiment(test::temp_path("train_fp32"), 3);
  fp32.data.validation.clear();
  fp32.trainer.device = "cuda";
  train::ExperimentConfig bf16 = fp32;
  bf16.run_dir = test::temp_path("train_bf16");
  bf16.trainer.precision = "bf16";
  EmulatedCuda emulated;
  const train::TrainResult a = train::train(fp32), b = train::train(bf16);
  EXPECT_EQ(a.bf16_weights, 0);
  EXPECT_GT(b.bf16_weights, 0);
  ASSERT_EQ(a.step_losses.size(), 3u);
  ASSERT_EQ(b.step_losses.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NE(a.step_losses[i], b.step_losses[i]) << "step " << i << ": bf16 must change the arithmetic";
    EXPECT_NEAR(b.step_losses[i], a.step_losses[i], 0.01 * std::fabs(a.step_losses[i])) << "step " << i;
  }
  // The adapters learn in bf16 too, and their file holds f32 weights.
  EXPECT_LT(b.step_losses[2], b.step_losses[0]);
  for (const auto& [k, t] : models::read_adapter_file(b.output_file).weights) EXPECT_EQ(t.dtype(), DType::F32) << k;
}

TEST(Trainer, Bf16WithFullTrainingIsRefusedClearly) {
  train::ExperimentConfig c = test::tiny_adapter_experiment(test::temp_path("train_bf16_full"), 1);
  c.model.train_mode = "full";
  c.trainer.device = "cuda";
  c.trainer.precision = "bf16";
  EXPECT_ASR_ERROR(train::train(c), "applies to train_mode adapters");
}

TEST(Trainer, CudaWithoutAGpuIsAClearError) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "this machine has a GPU";
  train::ExperimentConfig c = test::tiny_adapter_experiment(test::temp_path("train_cuda"), 1);
  c.trainer.device = "cuda";
  EXPECT_ASR_ERROR(train::train(c), "CUDA");
}
