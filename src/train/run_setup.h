#pragma once
// What a training run is built from its ExperimentConfig: the model (base + adapters, frozen or
// not), the optimizer and schedule, the loaders. Private to src/train (trainer.cpp drives it).
#include <memory>
#include <string>

#include "asr/audio/features.h"
#include "asr/data/loader.h"
#include "asr/io/model_file.h"
#include "asr/models/conformer_ctc.h"
#include "asr/ops/ops.h"
#include "asr/text/tokenizer.h"
#include "asr/train/experiment_config.h"
#include "asr/train/lr_scheduler.h"
#include "asr/train/optimizer.h"

namespace asr::train::detail {

struct RunModel {
  io::ModelFile file;  // the base model (frozen weights mmap'ed read-only from an .h5)
  std::unique_ptr<models::ConformerCtcModel> model;
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::string base_fingerprint;    // of the file's weights (what checkpoints must match)
  std::string placed_fingerprint;  // of the model's frozen weights as placed (device, precision)
  int64_t converted_weights = 0;   // frozen weight matrices converted to bf16
  std::string preprocessor_fingerprint, tokenizer_fingerprint;  // what the shards must match
};

// Loads the base model, adds the config's adapters (init seeded from config.seed) and prepares
// it for config.model.train_mode (adapters: frozen base, BatchNorm frozen; full: everything
// trains). The model is left in its training modes (see restore_training_mode).
// `rank` picks this rank's dropout stream (adapter init is the same on every rank). The model is
// placed on `device` (adapters are initialised on the CPU first, so every device starts from the
// same weights), and with trainer.precision bf16 its frozen GEMM weights become bf16.
RunModel build_model(const ExperimentConfig& config, int rank = 0, Device device = Device::cpu());

// A per-rank random stream of `seed`: rank 0 gets hash(seed, stream), others a mix of it with
// their rank, so a single-process run is the same with or without mpirun -np 1.
uint64_t rank_stream(uint64_t seed, uint64_t stream, int rank);

// Full training: everything in train(true); adapter training: the base in eval mode and the
// enabled adapters in training mode (ConformerCtcModel::set_adapter_training_mode).
void restore_training_mode(const ExperimentConfig& config, models::ConformerCtcModel& model);

std::unique_ptr<Optimizer> build_optimizer(const OptimSection& optim);
// total_steps: the run's optimizer steps (for cosine decay and warmup ratios).
std::shared_ptr<const LrSchedule> build_schedule(const OptimSection& optim, int64_t total_steps,
                                                 int64_t d_model);

data::LoaderConfig train_loader_config(const ExperimentConfig& config, const RunModel& run);

// The CTC reduction to use: config.loss.reduction or the model config's ctc_reduction.
// "mean" (torch's: per-utterance loss / target length, averaged) is computed by ctc_training_loss.
std::string loss_reduction(const ExperimentConfig& config, const io::ModelConfig& model_config);
Tensor ctc_training_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                         const Tensor& target_lengths, int64_t blank, const std::string& reduction,
                         bool zero_infinity);

int64_t peak_rss_bytes();

// trainer.threads > 0: the OpenMP (and so OpenBLAS, an OpenMP build) thread count of this process.
void set_cpu_threads(int64_t threads);

}  // namespace asr::train::detail
