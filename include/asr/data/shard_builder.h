#pragma once
// Writes the planned shards (shard_plan.h) that one process owns: decode -> features -> write,
// with worker threads computing utterances in order and the calling thread as the only HDF5
// writer. Shards that already exist complete (same plan, same fingerprints) are kept (resume).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "asr/data/shard_plan.h"
#include "asr/data/shard_writer.h"

namespace asr::audio {
class FeatureExtractor;
}

namespace asr::data {

struct ShardProgress {
  int64_t shards_done = 0, shards_total = 0;  // of this call's shards
  int64_t utterances = 0;                     // written so far in this call
  double audio_seconds = 0.0;                 // decoded so far in this call
};

struct ShardBuildOptions {
  int64_t threads = 1;  // feature workers (1: everything on the calling thread)
  ShardHeader header;   // fingerprints, n_mels, dtype; source_fingerprint is set per shard
  int64_t subsampling_factor = 4;  // the encoder's time reduction, for the CTC length check
  std::function<void(const ShardProgress&)> on_shard_done;  // called on the calling thread
};

struct BuiltShard {
  int64_t index = 0;  // in the plan
  bool reused = false;
  ShardInfo info;     // checksum included
};

struct ShardBuildResult {
  std::vector<BuiltShard> shards;  // in the order given
  double audio_seconds = 0.0;      // decoded by this call (reused shards excluded)
  int64_t utterances_written = 0;
};

ShardBuildResult build_shards(const ShardPlan& plan, const std::vector<int64_t>& shard_indices, const std::string& dir,
                              const audio::FeatureExtractor& extractor, const ShardBuildOptions& options);

// True when DIR/planned.file is a finished shard of exactly this plan entry (fingerprints,
// dtype, n_mels, source, utterances + skipped = planned). `why` gets the reason when not.
bool shard_is_complete(const std::string& path, const PlannedShard& planned, const ShardHeader& header,
                       std::string* why = nullptr);

// The "skipped" attribute: [{"where": ..., "reason": key, "detail": ...}, ...].
std::string skipped_to_json(const std::vector<SkipRecord>& records);
std::vector<SkipRecord> skipped_from_json(const std::string& json, const std::string& source);

// CTC needs one encoder frame per label plus one blank between equal neighbours.
int64_t ctc_min_frames(const std::vector<int32_t>& tokens);

}  // namespace asr::data
