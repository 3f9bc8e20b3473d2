#pragma once
// `asr-adapt train`: one training run from an ExperimentConfig. The step, in order (llm.c style,
// one readable path): next batch(es) -> SpecAugment -> model.forward -> CTC (+ adapter L2 aux)
// loss -> backward into the flat gradient buffer (accumulated over accumulate_grad_batches) ->
// [data-parallel all-reduce of that one buffer] -> global-norm check/clip (non-finite: skip) ->
// optimizer.step on the flat parameter buffer with the scheduler's lr -> log / validate /
// checkpoint. Adapter mode trains only the enabled adapters of a frozen, read-only base model;
// full mode trains every parameter.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "asr/dist/communicator.h"
#include "asr/train/experiment_config.h"

namespace asr::train {

struct TrainOptions {
  // Tests: return right after the checkpoint of this step as if the process had been killed
  // there (no final validation, checkpoint or output file). -1 = off.
  int64_t halt_after_step = -1;
  // The data-parallel group; null = built from config.trainer.dist_backend (single process
  // without mpirun).
  dist::Communicator* communicator = nullptr;
};

struct TrainResult {
  std::string run_dir;
  std::string output_file;       // RUN/adapters.h5 (adapter mode) or RUN/model.h5 (full mode)
  std::string best_checkpoint;   // "" without validation
  std::string device;            // where this rank trained: "cpu", "cuda:0", ...
  int64_t bf16_weights = 0;      // frozen weight matrices run in bf16 (trainer.precision bf16)
  int64_t steps = 0;             // optimizer steps taken in total (including before a resume)
  int64_t resumed_from_step = 0; // 0 = fresh start
  int64_t skipped_steps = 0;     // non-finite steps skipped
  std::vector<double> step_losses;                 // the loss of each step this process took
  std::map<std::string, double> last_validation;   // "dev/wer", "dev/cer", "dev/loss", ...
  int64_t trainable_parameters = 0, total_parameters = 0;
  double wall_seconds = 0;
  double mean_step_seconds = 0;  // excluding validation and checkpoints
  int64_t peak_rss_bytes = 0;    // of this process (getrusage)
  bool halted = false;
  // SIGUSR1/SIGTERM (e.g. Slurm's warning before the time limit): every rank finished its step,
  // a checkpoint was written and the run stopped; `asr-adapt train` exits with status 3.
  bool preempted = false;
  std::string stop_signal;       // "SIGUSR1" / "SIGTERM" when preempted
  int world_size = 1;
  int64_t bytes_all_reduced_per_step = 0;
  std::string frozen_fingerprint_after;  // base model fingerprint re-computed at the end
};

// Runs (or resumes, per config.resume) the experiment. Throws asr::Error with a clear message on
// bad input (missing model/shards, fingerprint mismatches, too many non-finite steps in a row).
TrainResult train(const ExperimentConfig& config, const TrainOptions& options = {});

}  // namespace asr::train
