#pragma once
// The loader's epoch plan: which utterances form which batch, in which order, on which rank.
// A pure function of (durations, settings, seed, epoch, world size, rank), so every rank computes
// the same global batch list without talking to the others. Private to src/data.
#include <cstdint>
#include <vector>

namespace asr::data::detail {

struct PlanSettings {
  int64_t batch_size = 0;       // max utterances per batch (0 = no limit)
  double batch_duration = 0.0;  // max padded seconds per batch: count x longest (0 = no limit)
  int64_t num_buckets = 1;
  bool shuffle = true;
  uint64_t seed = 0;
  int64_t rank = 0, world_size = 1;
};

class EpochPlanner {
 public:
  // Buckets are fixed: utterances sorted by duration (ties by id) and cut into num_buckets
  // groups of equal count. Throws asr::Error on invalid settings.
  EpochPlanner(const std::vector<double>& durations, const PlanSettings& settings);

  // This rank's batches for `epoch`, as global utterance ids. Per epoch: utterances are shuffled
  // within each bucket, packed greedily into batches, all batches shuffled; batch k of round r
  // goes to rank k of that round (global batch r * world_size + rank). The last incomplete round
  // is dropped, so every rank gets floor(global_batches / world_size) batches.
  std::vector<std::vector<int64_t>> rank_batches(int64_t epoch) const;
  // All ranks' batches for `epoch`, before the split (for tests and diagnostics).
  std::vector<std::vector<int64_t>> global_batches(int64_t epoch) const;

 private:
  std::vector<double> durations_;
  PlanSettings s_;
  std::vector<std::vector<int64_t>> buckets_;  // ids sorted by duration within each bucket
};

}  // namespace asr::data::detail
