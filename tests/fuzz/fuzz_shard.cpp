// Fuzz target: feature shards (src/data/shard_reader.cpp over an HDF5 file image in memory) and
// the shard directory's index.json (src/data/shard_format.cpp). Input starting with the HDF5
// signature is a shard: it is opened, its metadata validated, and the first utterances' features,
// tokens and transcripts read as the loader reads them; anything else is index.json text.
#include <cstring>
#include <vector>

#include "asr/data/shard_format.h"
#include "asr/io/hdf5_handles.h"
#include "data/shard_reader.h"
#include "fuzz_input.h"

namespace {

void read_shard(const std::string& image) {
  asr::h5::Id access(asr::h5::file_image_access(image), H5Pclose);
  if (!access.ok()) std::abort();
  asr::data::detail::ShardFile shard("fuzz-shard.h5", access);
  const asr::data::detail::ShardMeta meta = shard.read_meta(-1, -1);
  for (int64_t i = 0; i < meta.utterances && i < 4; ++i) {
    const int64_t frames = meta.feature_lengths[static_cast<size_t>(i)];
    std::vector<float> features(static_cast<size_t>(frames * meta.n_mels));
    shard.read_features(meta.feature_offsets[static_cast<size_t>(i)], frames, features.data(), frames);
    std::vector<int64_t> tokens(static_cast<size_t>(meta.token_lengths[static_cast<size_t>(i)]));
    shard.read_tokens(meta.token_offsets[static_cast<size_t>(i)], static_cast<int64_t>(tokens.size()), tokens.data());
    shard.read_transcript(i);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = asr::fuzz::as_string(data, size);
  asr::fuzz::expect_only_asr_errors([&] {
    if (bytes.size() >= 8 && std::memcmp(bytes.data(), "\x89HDF\r\n\x1a\n", 8) == 0)
      read_shard(bytes);
    else
      asr::data::parse_shard_index(bytes, "fuzz/index.json");
  });
  return 0;
}
