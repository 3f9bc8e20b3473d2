#pragma once
// Reading one HDF5 feature shard (shard_format.h) for the loader: its per-utterance metadata,
// validated once, and hyperslab reads of single utterances. Private to src/data.
#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace asr::data::detail {

// Every HDF5 call in the loader holds this lock. Debian's libhdf5 is built thread-safe, but
// the serial build elsewhere may not be; the prefetch thread must never race the main thread.
std::mutex& hdf5_mutex();
#ifdef H5_HAVE_THREADSAFE
constexpr bool kHdf5ThreadSafe = true;
#else
// Other code (checkpoints) calls HDF5 without our lock: a prefetch thread would race it.
constexpr bool kHdf5ThreadSafe = false;
#endif

// What the loader keeps in memory per shard: everything needed to plan epochs and address reads.
struct ShardMeta {
  std::string path;
  int64_t utterances = 0;
  int64_t n_mels = 0;
  int64_t feature_rows = 0;  // rows of /features
  int64_t token_count = 0;   // elements of /tokens
  std::vector<int64_t> feature_offsets, feature_lengths, token_offsets, token_lengths;
  std::vector<double> durations;
};

// An open shard (file and dataset handles), kept open by the loader's cache.
class ShardFile {
 public:
  explicit ShardFile(const std::string& path);  // throws asr::Error naming the file
  // Opens with a file-access property list instead: e.g. HDF5's core driver over a file image in
  // memory (the fuzz target), where `path` only names the shard in messages.
  ShardFile(const std::string& path, hid_t file_access);
  ~ShardFile();
  ShardFile(const ShardFile&) = delete;
  ShardFile& operator=(const ShardFile&) = delete;

  const std::string& path() const { return path_; }
  // Reads and validates every per-utterance array: sizes agree, offsets + lengths lie inside the
  // datasets, durations are finite. `expected_n_mels`/`expected_utterances` < 0 and empty
  // fingerprints skip that check (the fingerprints are compared with the file's attributes).
  ShardMeta read_meta(int64_t expected_n_mels, int64_t expected_utterances,
                      const std::string& preprocessor_fingerprint = {},
                      const std::string& tokenizer_fingerprint = {});
  // Rows [offset, offset+length) of /features as f32, transposed: frame t of mel bin c goes to
  // dst[c * dst_stride + t] (the batch's [n_mels, T_max] layout).
  void read_features(int64_t offset, int64_t length, float* dst, int64_t dst_stride);
  // Elements [offset, offset+length) of /tokens as i64 into dst.
  void read_tokens(int64_t offset, int64_t length, int64_t* dst);
  std::string read_transcript(int64_t index);
  // Confirms that the file still has the shapes its metadata was validated against.
  void check_shapes(const ShardMeta& meta) const;

 private:
  std::string path_;
  hid_t file_ = -1, features_ = -1, tokens_ = -1, transcripts_ = -1;
  hid_t feature_mem_type_ = -1;  // what features are read as (native f32 or the file's f16)
  bool half_ = false;            // stored as IEEE binary16: read raw, convert with f16_to_float
  hid_t transcript_mem_type_ = -1;
  bool transcript_vlen_ = false;
  int64_t n_mels_ = 0, feature_rows_ = 0, token_count_ = 0, transcript_count_ = 0;
  std::vector<uint16_t> half_buf_;
  std::vector<float> float_buf_;
};

}  // namespace asr::data::detail
