#pragma once
// Writes one HDF5 feature shard (shard_format.h, docs/shard-format.md) and checks finished ones.
// A shard is built in DIR/.shard-NNNNN.h5.tmp and renamed into place after an fsync, so a file
// named shard-NNNNN.h5 is always complete. Identical inputs give byte-identical files.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "asr/data/shard_format.h"

namespace asr::data {

namespace shard_keys {
// Written by asr-adapt shard next to the documented attributes (readers may ignore them):
constexpr const char* kSourceFingerprint = "source_fingerprint";  // digest of the planned inputs
constexpr const char* kSkipped = "skipped";  // JSON array of the planned items left out, with why
}  // namespace shard_keys

// Rows of /features per HDF5 chunk: ~20 s of audio; at 80 mels f32 a chunk is 640 KiB, inside
// HDF5's default 1 MiB chunk cache, so a reader touching one utterance decodes one or two chunks.
constexpr int64_t kFeatureChunkFrames = 2048;

struct ShardHeader {
  std::string preprocessor_fingerprint, tokenizer_fingerprint;
  int64_t n_mels = 0;
  std::string feature_dtype = "f32";  // "f16" | "f32"
  std::string source_fingerprint;
};

class ShardWriter {
 public:
  // Creates the temp file next to `final_path`, replacing a stale one. Errors name the file.
  ShardWriter(const std::string& final_path, const ShardHeader& header,
              int64_t chunk_frames = kFeatureChunkFrames);
  ~ShardWriter();  // an unfinished shard's temp file is removed
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // One utterance. `features` is [frames, n_mels] row-major f32 (converted to the shard's dtype).
  void add(const float* features, int64_t frames, const std::vector<int32_t>& tokens, double duration,
           const std::string& transcript, const std::string& audio_path);
  // Writes the per-utterance datasets and the attributes, closes, fsyncs and renames the file
  // into place. `skipped_json` is stored as the "skipped" attribute ("[]" when empty).
  ShardInfo finish(const std::string& skipped_json = "[]");
  // finish() in two steps: writes and closes the HDF5 file now (the only HDF5 work), and returns
  // the rest (fsync, rename, checksum) to run later on any thread, so that disk latency does not
  // hold up the next shard. Until it runs, the shard exists only as its temp file.
  std::function<ShardInfo()> close(const std::string& skipped_json = "[]");
  int64_t utterances() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What a finished shard says about itself, after checking that its datasets agree with each
// other and with its attributes (extents, offsets, dtype). Any inconsistency, a missing
// dataset/attribute or an unreadable file throws an asr::Error naming the file.
struct ShardSummary {
  ShardHeader header;
  int64_t schema_version = 0;
  int64_t utterances = 0, frames = 0, tokens = 0;
  double duration = 0.0;
  std::string skipped_json = "[]";
};
ShardSummary inspect_shard(const std::string& path);

}  // namespace asr::data
