// The shard reader refuses a file that declares more than any real shard holds (mel bins,
// fixed-size string widths) before it allocates for it: a damaged or crafted shard gets an error
// naming the file, not gigabytes of memory (found by fuzzing: tests/fuzz/fuzz_shard.cpp).
#include <gtest/gtest.h>

#include <filesystem>

#include "data/loader_test_util.h"
#include "data/shard_reader.h"
#include "support/test_util.h"

namespace asr::data {
namespace {

using namespace asr::data::test;
namespace fs = std::filesystem;

std::string shard_path(const std::string& name) {
  const std::string dir = asr::test::temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir + "/shard-00000.h5";
}

// Replaces /transcripts with one fixed-size string dataset whose strings are `width` bytes wide.
void rewrite_transcripts_fixed(const std::string& path, size_t width) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  ASSERT_GE(H5Ldelete(f, shard_keys::kTranscripts, H5P_DEFAULT), 0);
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, width);
  hsize_t one = 1;
  hid_t space = H5Screate_simple(1, &one, nullptr);
  hid_t ds = H5Dcreate2(f, shard_keys::kTranscripts, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<char> text(width, 'a');
  EXPECT_GE(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, text.data()), 0);
  H5Dclose(ds);
  H5Sclose(space);
  H5Tclose(type);
  H5Fclose(f);
}

TEST(ShardReaderBounds, FixedSizeTranscriptsOfOrdinaryWidthAreRead) {
  const std::string path = shard_path("bounds_fixed_ok");
  write_shard_file(path, make_utts(1, 0, 1), ShardSpec{});
  rewrite_transcripts_fixed(path, 64);
  asr::data::detail::ShardFile shard(path);
  EXPECT_EQ(shard.read_transcript(0), std::string(64, 'a'));
}

TEST(ShardReaderBounds, TranscriptStringsWiderThanAMebibyteAreRefused) {
  const std::string path = shard_path("bounds_fixed_wide");
  write_shard_file(path, make_utts(1, 0, 1), ShardSpec{});
  rewrite_transcripts_fixed(path, (size_t{1} << 20) + 1);
  EXPECT_ASR_ERROR(asr::data::detail::ShardFile shard(path), path + ": corrupt shard: /transcripts declares a 1048577-byte string");
}

TEST(ShardReaderBounds, MoreThan1024MelBinsAreRefused) {
  const std::string path = shard_path("bounds_mels");
  ShardSpec spec;
  spec.n_mels = 1025;
  write_shard_file(path, make_utts(1, 0, 1, 2, 2), spec);
  EXPECT_ASR_ERROR(asr::data::detail::ShardFile shard(path), "/features has 1025 mel bins (at most 1024)");
  spec.n_mels = 1024;
  write_shard_file(path, make_utts(1, 0, 1, 2, 2), spec);
  asr::data::detail::ShardFile shard(path);
  EXPECT_EQ(shard.read_meta(1024, 1).utterances, 1);
}

}  // namespace
}  // namespace asr::data
