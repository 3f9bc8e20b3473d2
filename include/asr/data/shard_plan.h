#pragma once
// What `asr-adapt shard` will write, decided from the manifests alone before any audio is read:
// which manifest items are usable (JSON, fields, duration range, transcript) and which shard each
// one goes to. Every rank computes the same plan, so ranks can split the shards without talking,
// and a re-run knows which shard holds which utterances (resume).
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "asr/io/model_config.h"

namespace asr::text {
class Tokenizer;
}

namespace asr::data {

enum class SkipReason {
  JsonSyntax,       // the line is not a JSON object
  MissingField,     // audio_filepath / duration / text missing or of the wrong type
  AudioMissing,     // no such file, or not a readable regular file
  AudioCorrupt,     // libsndfile cannot decode it
  AudioEmpty,       // no samples (or too few for one feature frame)
  DurationRange,    // manifest duration outside [--min-duration, --max-duration]
  EmptyTranscript,  // nothing but whitespace
  CtcInfeasible,    // more labels than the encoder has output frames
  UnknownChars,     // KEPT: characters that map to <unk> (counted and warned, not skipped)
};
constexpr int kNumSkipReasons = 9;
const char* skip_reason_text(SkipReason r);  // for people: "JSON syntax error"
const char* skip_reason_key(SkipReason r);   // for files: "json_syntax"
SkipReason skip_reason_from_key(const std::string& key);  // throws on an unknown key

struct SkipRecord {
  SkipReason reason;
  std::string where;   // "manifest:line"
  std::string detail;  // e.g. the missing field, the decoder's message
};

struct PlannedUtterance {
  std::string where;       // "manifest:line"
  std::string audio_path;  // resolved as NeMo does
  double offset = 0.0, duration = 0.0;  // seconds, from the manifest
  std::string text;
  std::vector<int32_t> tokens;
};

struct PlannedShard {
  std::string file;  // "shard-00012.h5"
  std::vector<PlannedUtterance> items;
  std::string source_fingerprint;  // digest of the items and the feature dtype
  int64_t estimated_bytes = 0;
};

struct ShardPlanOptions {
  double min_duration = 0.0;
  double max_duration = std::numeric_limits<double>::infinity();
  int64_t max_shard_bytes = int64_t{512} << 20;
  std::string feature_dtype = "f32";
};

struct ShardPlan {
  std::vector<PlannedShard> shards;
  std::vector<SkipRecord> skipped;  // decided from the manifests (manifest order)
  std::vector<SkipRecord> kept_with_unknown;  // UnknownChars: kept, reported
  int64_t manifest_items = 0;  // non-blank manifest lines
  int64_t utterances = 0;      // planned
  double duration = 0.0;       // planned, seconds (manifest durations)
};

// "shard-NNNNN.h5" (five digits, more when needed).
std::string shard_file_name(int64_t index);

// Reads the manifests in order. Unreadable manifest files are errors; bad lines are skips.
// Utterances fill a shard until the next one would push its estimated size (features in the
// chosen dtype + tokens + per-utterance arrays) over max_shard_bytes.
ShardPlan plan_shards(const std::vector<std::string>& manifests, const text::Tokenizer& tokenizer,
                      const io::PreprocessorConfig& preprocessor, const ShardPlanOptions& options);

// Parses "512MiB", "1.5GB", "4096", "64k" (binary for KiB/MiB/GiB and k/m/g, decimal for KB/MB/GB).
int64_t parse_byte_size(const std::string& text);

}  // namespace asr::data
