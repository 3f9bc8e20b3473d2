#pragma once
// One YAML file describes an experiment: the model, its adapters, the data, the optimiser and
// schedule, the trainer's limits, checkpointing and logging. `asr-adapt train CONFIG.yaml
// [key.path=value ...]` loads it with load_experiment_config; the resolved config (defaults filled
// in, overrides applied) is written into the run folder with to_yaml. configs/*.yaml document
// every key.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "asr/models/adapters.h"

namespace asr::train {

struct ModelSection {
  std::string path;              // required: .nemo or asr-adapt .h5
  std::string train_mode = "adapters";  // adapters (frozen base) | full (every parameter trains)
};

// data.train takes shards, batch_size, batch_duration, num_buckets, shuffle; each data.validation
// entry takes name, shards, batch_size, batch_duration (num_buckets keeps its default, shuffle is
// false). With both batch limits > 0 a batch closes at whichever it reaches first.
struct ShardSetConfig {
  std::string name;                  // validation sets: metric prefix ("dev" -> dev/wer)
  std::vector<std::string> shards;   // required: shard directories (asr-adapt shard --out)
  int64_t batch_size = 16;           // utterances per batch (0 = use batch_duration)
  double batch_duration = 0.0;       // seconds of padded audio per batch (0 = use batch_size)
  int64_t num_buckets = 8;
  bool shuffle = true;               // validation sets are never shuffled
};

struct SpecAugmentSection {
  int64_t freq_masks = 0;
  int64_t freq_width = 27;
  int64_t time_masks = 0;
  double time_width = 0.05;
};

struct DataSection {
  ShardSetConfig train;                    // required
  std::vector<ShardSetConfig> validation;  // optional, each with a unique name
  SpecAugmentSection spec_augment;         // off by default (NeMo's asr_adaptation.yaml)
  int64_t prefetch_batches = 4;
};

struct LossSection {
  std::string reduction;      // mean_batch | mean_volume | mean | sum; empty = the model's config
  bool zero_infinity = true;
};

struct SchedSection {
  std::string name = "CosineAnnealing";  // CosineAnnealing | NoamAnnealing | constant
  std::optional<int64_t> warmup_steps;
  std::optional<double> warmup_ratio;
  std::optional<int64_t> constant_steps;  // CosineAnnealing only
  std::optional<double> constant_ratio;
  double min_lr = 0.0;
  std::optional<double> d_model;  // NoamAnnealing; default: the model's encoder d_model
};

struct OptimSection {
  std::string name = "adamw";  // adamw | sgd
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;  // YAML: betas: [0.9, 0.999]
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;  // sgd
  bool nesterov = false;  // sgd
  SchedSection sched;
};

struct TrainerSection {
  std::optional<int64_t> max_steps;   // optimiser steps; at least one of max_steps/max_epochs
  std::optional<int64_t> max_epochs;
  int64_t accumulate_grad_batches = 1;
  double gradient_clip_val = 0.0;     // global L2 norm; 0 = off
  int64_t val_check_interval = 0;     // validate every N optimiser steps (0 = at the end only)
  int64_t log_every_n_steps = 10;
  int64_t max_consecutive_nonfinite = 10;  // skipped steps in a row before the run stops
  std::string precision = "fp32";     // fp32 | bf16 (CUDA only)
  std::string device = "cpu";         // cpu | cuda
  int64_t threads = 0;                // CPU threads (0 = OpenBLAS/OpenMP default)
  std::string dist_backend = "auto";  // auto | single | mpi | nccl (dist/communicator.h)
  double collective_timeout = 300;    // seconds before a collective that hangs is an error
};

struct CheckpointSection {
  int64_t every_n_steps = 0;   // 0 = only at validation and at the end
  int64_t keep_last = 2;       // step-N folders kept (the best one is kept as well)
  std::string monitor;         // e.g. "dev/wer"; empty = first validation set's wer
  std::string mode = "min";    // min | max
};

struct LoggingSection {
  std::string progress = "auto";  // auto (progress line on a TTY) | always | never
  bool json = true;               // RUN/metrics.jsonl
  bool tensorboard = true;        // RUN/tensorboard/events.out.tfevents.*
};

struct ExperimentConfig {
  std::string name = "experiment";
  std::string run_dir;          // default: runs/<name>
  uint64_t seed = 1234;
  std::string resume = "auto";  // auto | never | a checkpoint folder
  ModelSection model;
  // `adapters:` is a list; each entry: name, type (linear | rel_pos_mha), module, layers, dim,
  // activation, norm_position, dropout, n_head, proj_dim, stochastic_depth, l2_lambda, enabled.
  // Required in train_mode adapters; enabled adapters chain in this order. Every key is read
  // and range-checked for either type and kept, but a linear adapter ignores n_head/proj_dim and
  // a rel_pos_mha one ignores dim/activation/norm_position (it goes on the encoder only).
  std::vector<models::AdapterSpec> adapters;
  DataSection data;
  LossSection loss;
  OptimSection optim;
  TrainerSection trainer;
  CheckpointSection checkpoint;
  LoggingSection logging;

  std::string source;  // file the config came from (for messages)
};

// Parses `path`, applies dot-path overrides ("optim.lr=3e-4", "adapters.0.dim=64",
// "data.train.shards=[a,b]"; the value is parsed as YAML) and validates. Unknown keys, wrong
// types, bad enum values and missing required keys throw asr::Error naming the file, the line and
// the dotted key, with the closest valid key suggested for an unknown one ("did you mean ...?").
// An override naming an unknown key is an error naming the override. A list element must exist
// already ("adapters.2.dim=8" with two adapters is an error: overrides do not append; replace the
// whole list instead, "adapters=[{...}, ...]"). Also asr::Error: a missing required key
// (model.path, data.train.shards, adapters in train_mode adapters, one of trainer.max_steps /
// max_epochs), out-of-range values, duplicate adapter or validation set names.
ExperimentConfig load_experiment_config(const std::string& path,
                                        const std::vector<std::string>& overrides = {});
// The same from YAML text (`source` names it in messages).
ExperimentConfig parse_experiment_config(const std::string& yaml_text, const std::string& source,
                                         const std::vector<std::string>& overrides = {});
// Every key with its resolved value, as YAML that load_experiment_config reads back to an equal
// config (`source` is not written).
std::string to_yaml(const ExperimentConfig& config);

// Every setting equal; `source` (where the config was read from) is not a setting and is ignored.
bool operator==(const ExperimentConfig& a, const ExperimentConfig& b);
inline bool operator!=(const ExperimentConfig& a, const ExperimentConfig& b) { return !(a == b); }

}  // namespace asr::train
