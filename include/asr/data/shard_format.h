#pragma once
// The HDF5 feature-shard format (docs/shard-format.md). Features and token ids are computed once
// by `asr-adapt shard` and streamed by every training rank; nothing in the training loop decodes
// audio or computes an FFT.
//
// DIR/index.json   {"schema_version": 1, "preprocessor_fingerprint": "...", "tokenizer_fingerprint":
//                   "...", "n_mels": 80, "dtype": "f16"|"f32", "shards": [{"file": "shard-00000.h5",
//                   "utterances": N, "frames": F, "duration": seconds, "checksum": "xxh64:<16 hex digits>"}]}
// DIR/shard-NNNNN.h5, one group-free file:
//   /features        [sum_T, n_mels]  f16 or f32, chunked [~batch of frames, n_mels]
//   /feature_offsets [N] i64          first row of utterance i in /features
//   /feature_lengths [N] i64          valid frames of utterance i (NeMo's seq_len)
//   /tokens          [sum_U] i32      token ids, concatenated
//   /token_offsets   [N] i64
//   /token_lengths   [N] i64
//   /durations       [N] f64          seconds
//   /transcripts     [N] variable-length UTF-8 strings
//   /audio_paths     [N] variable-length UTF-8 strings (as resolved when sharding)
//   attributes on /: schema_version (i64), preprocessor_fingerprint, tokenizer_fingerprint
//                    (strings), n_mels (i64), feature_dtype ("f16"|"f32"), utterances (i64)
// Features are exactly what the model's preprocessor outputs (after per-feature normalisation,
// valid frames only), so a batch is a copy plus padding.
#include <cstdint>
#include <string>
#include <vector>

#include "asr/io/model_config.h"

namespace asr::data {

constexpr int64_t kShardSchemaVersion = 1;

namespace shard_keys {
constexpr const char* kFeatures = "features";
constexpr const char* kFeatureOffsets = "feature_offsets";
constexpr const char* kFeatureLengths = "feature_lengths";
constexpr const char* kTokens = "tokens";
constexpr const char* kTokenOffsets = "token_offsets";
constexpr const char* kTokenLengths = "token_lengths";
constexpr const char* kDurations = "durations";
constexpr const char* kTranscripts = "transcripts";
constexpr const char* kAudioPaths = "audio_paths";
constexpr const char* kSchemaVersion = "schema_version";
constexpr const char* kPreprocessorFingerprint = "preprocessor_fingerprint";
constexpr const char* kTokenizerFingerprint = "tokenizer_fingerprint";
constexpr const char* kNumMels = "n_mels";
constexpr const char* kFeatureDtype = "feature_dtype";
constexpr const char* kUtterances = "utterances";
}  // namespace shard_keys

// Stable hex digests (same value on every machine and build): of every preprocessor setting that
// changes the features (plus the filterbank/window buffers' bytes when the checkpoint has them),
// and of the SentencePiece model's bytes.
std::string preprocessor_fingerprint(const io::PreprocessorConfig& config,
                                     const std::vector<float>& filterbank,
                                     const std::vector<float>& window);
std::string tokenizer_fingerprint(const std::string& sentencepiece_model_bytes);

struct ShardInfo {
  std::string file;  // relative to the shard directory
  int64_t utterances = 0;
  int64_t frames = 0;
  double duration = 0.0;
  std::string checksum;  // of the whole file's bytes
};

struct ShardIndex {
  int64_t schema_version = kShardSchemaVersion;
  std::string preprocessor_fingerprint, tokenizer_fingerprint;
  int64_t n_mels = 0;
  std::string feature_dtype = "f32";
  std::vector<ShardInfo> shards;
};

// DIR/index.json. read_shard_index errors name the file (missing, malformed, wrong schema).
ShardIndex read_shard_index(const std::string& dir);
// The same for index.json text already in memory; `path` names it in errors.
ShardIndex parse_shard_index(const std::string& json_text, const std::string& path);
void write_shard_index(const std::string& dir, const ShardIndex& index);  // atomic (temp+rename)
// Hex digest of a file's bytes (used for ShardInfo::checksum).
std::string file_checksum(const std::string& path);

}  // namespace asr::data
