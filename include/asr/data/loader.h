#pragma once
// Streams training/evaluation batches from HDF5 feature shards (shard_format.h) with a background
// prefetch thread and bounded memory. Deterministic given (seed, epoch, world size, rank):
// shuffling, bucketing and the split across ranks depend on nothing else. Every rank gets the
// same number of batches per epoch, and the loader's position is part of a checkpoint.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "asr/core/generator.h"
#include "asr/core/tensor.h"

namespace asr::data {

struct LoaderConfig {
  std::vector<std::string> shard_dirs;
  int64_t batch_size = 0;         // utterances per batch (one of batch_size / batch_duration)
  double batch_duration = 0.0;    // seconds of audio per batch, padded: count x longest <= this
  int64_t num_buckets = 8;        // duration buckets (equal counts); batches are drawn within one
  bool shuffle = true;
  uint64_t seed = 0;
  int64_t rank = 0, world_size = 1;
  int64_t prefetch_batches = 4;   // bounded queue; 0 = no thread, next() reads synchronously
  bool skip_corrupt_shards = false;  // else a corrupt/truncated shard is an error naming it
  // Expected fingerprints (of the model being trained); empty = don't check.
  std::string preprocessor_fingerprint, tokenizer_fingerprint;
};

struct Batch {
  Tensor features;        // [B, n_mels, T_max] f32, zero beyond each length (NeMo's layout)
  Tensor feature_lengths; // [B] I64
  Tensor tokens;          // [B, U_max] I64, padded with 0
  Tensor token_lengths;   // [B] I64
  std::vector<double> durations;
  std::vector<std::string> transcripts;
  std::vector<int64_t> utterance_ids;  // global ids (shard order) for tests and per-utterance output
};

struct LoaderPosition {
  int64_t epoch = 0;
  int64_t batch_index = 0;  // next batch within the epoch
};

class Loader {
 public:
  explicit Loader(const LoaderConfig& config);
  ~Loader();
  // Next batch; false at the end of the epoch (then the epoch counter advances).
  bool next(Batch& batch);
  // Of the current epoch, the same on every rank: floor(global batches / world_size); the last
  // incomplete round of batches is dropped (a different one each epoch, as batches are shuffled).
  // With batch_duration the count may differ slightly between epochs.
  int64_t batches_per_epoch() const;
  LoaderPosition position() const;
  void restore(const LoaderPosition& position);  // continues exactly where `position` was taken
  int64_t num_utterances() const;                // across all ranks
  int64_t n_mels() const;
  // Batches assembled so far (tests: the prefetch thread stays at most prefetch_batches ahead of
  // the batches next() returned).
  int64_t batches_built() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// NeMo's SpectrogramAugmentation (SpecAugment): freq_masks masks of width U[0, freq_width] over
// mel bins and time_masks masks of width U[0, time_width] frames (a fraction of the utterance's
// length when time_width < 1), applied per utterance to its valid frames only, set to mask_value.
// As NeMo's (vectorised) code draws them: width = floor(u * max), so in [0, max); time masks first.
struct SpecAugmentConfig {
  int64_t freq_masks = 0;
  int64_t freq_width = 27;
  int64_t time_masks = 0;
  double time_width = 0.05;
  double mask_value = 0.0;
};
// In place on features [B, n_mels, T] (f32) with lengths [B]; deterministic from the generator.
void spec_augment(Tensor& features, const Tensor& lengths, const SpecAugmentConfig& config,
                  Generator& gen);

}  // namespace asr::data
