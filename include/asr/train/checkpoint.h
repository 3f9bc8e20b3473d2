#pragma once
// Training checkpoints: RUN/checkpoints/step-NNNNNNNN/ holds state.h5 (trainable parameters,
// optimizer state, scheduler step, RNG states, loader position, counters), adapters.h5 (adapter
// mode: the adapter file, usable with eval/export as is) or model.h5 (full mode) and config.yaml.
// A folder is written under a temporary name, fsynced and renamed; RUN/checkpoints/latest (a
// one-line file naming the folder) is replaced last, atomically. A run killed at any moment
// leaves the previous checkpoint and pointer intact. docs/checkpoint-format.md has the layout.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "asr/core/tensor.h"
#include "asr/data/loader.h"
#include "asr/train/optimizer.h"

namespace asr::train {

// Each rank's random streams (dropout, SpecAugment) at the checkpoint.
struct RankRngState {
  uint64_t dropout_seed = 0, dropout_offset = 0;
  uint64_t augment_seed = 0, augment_offset = 0;
};

struct TrainingState {
  std::string train_mode;        // adapters | full
  std::string base_fingerprint;  // of the frozen base model
  int64_t step = 0;              // optimizer steps taken
  int64_t skipped_steps = 0;     // non-finite steps skipped so far
  int64_t consecutive_nonfinite = 0;
  int64_t scheduler_step = 0;
  double audio_seconds = 0;      // audio seen so far (all ranks)
  double best_metric = 0;        // valid when best_step >= 0
  int64_t best_step = -1;
  data::LoaderPosition loader;
  int64_t world_size = 1;              // ranks of the run that wrote it
  std::vector<RankRngState> rank_rng;  // one per rank, in rank order
  Tensor trainable;                         // the flat trainable parameter buffer
  std::map<std::string, Tensor> buffers;    // full mode: BatchNorm running statistics by name
  OptimizerState optimizer;
};

std::string checkpoint_folder_name(int64_t step);  // "step-00000100"

// Writes `state` (+ the files in `extra`, name -> writer that creates that file at the given
// path) as RUN/checkpoints/step-N, then points `latest` at it. Returns the folder's path.
struct CheckpointFile {
  std::string name;                                       // e.g. "adapters.h5"
  std::function<void(const std::string& path)> write;    // writes the whole file at `path`
};
std::string write_checkpoint(const std::string& checkpoints_dir, const TrainingState& state,
                             const std::string& resolved_config_yaml,
                             const std::vector<CheckpointFile>& extra);
TrainingState read_training_state(const std::string& checkpoint_folder);
// The folder `latest` points at, or "" when there is none.
std::string latest_checkpoint(const std::string& checkpoints_dir);
// Removes step-N folders beyond the newest `keep_last`, never the ones in `keep`, and the
// temporary folders (.tmp-step-N-<pid>) of writers whose process is gone (killed mid-write).
void rotate_checkpoints(const std::string& checkpoints_dir, int64_t keep_last,
                        const std::vector<std::string>& keep);
// Writes a one-line pointer file atomically (temp + fsync + rename).
void write_pointer_file(const std::string& path, const std::string& target);
// Writes a small text file atomically (temp + fsync + rename; a failure names its cause and
// leaves the old file as it was). RUN/config.yaml is written with it.
void write_text_file_atomically(const std::string& path, const std::string& text);

}  // namespace asr::train
