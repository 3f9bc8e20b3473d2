// A shard damaged or rewritten on disk while a run uses it: the next epoch stops with an error
// naming the file (the loader compares each shard with index.json's checksum when its stamp
// changed), while an untouched-in-content file (touch, identical copy) passes.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "data/loader_test_util.h"

namespace asr::data {
namespace {

using namespace asr::data::test;
namespace fs = std::filesystem;

LoaderConfig config_for(const std::string& dir, int64_t prefetch) {
  LoaderConfig c;
  c.shard_dirs = {dir};
  c.batch_size = 2;
  c.num_buckets = 1;
  c.prefetch_batches = prefetch;
  return c;
}

// Inverts `count` bytes in the middle of the file, in place (same inode and size).
void flip_bytes(const std::string& path, int count) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << path;
  const std::streamoff middle = static_cast<std::streamoff>(fs::file_size(path) / 2);
  for (int i = 0; i < count; ++i) {
    f.seekg(middle + i);
    const char c = static_cast<char>(~f.get());
    f.seekp(middle + i);
    f.put(c);
  }
}

class LoaderShardChanged : public ::testing::TestWithParam<int64_t> {};  // prefetch batches

TEST_P(LoaderShardChanged, FlippedBytesBetweenEpochsStopTheNextEpochNamingTheShard) {
  TempDir tmp("loader_changed");
  write_shard_dir(tmp.sub("d"), split_utts({8, 8}, 0, 11), {});
  const std::string bad = tmp.sub("d") + "/shard-00001.h5";
  Loader loader(config_for(tmp.sub("d"), GetParam()));
  EXPECT_EQ(drain_epoch(loader).size(), 8u);  // epoch 0 reads both shards
  flip_bytes(bad, 16);
  Batch b;
  EXPECT_ASR_ERROR(loader.next(b), bad + ": shard changed on disk since training started");
  EXPECT_ASR_ERROR(loader.next(b), "its index.json says");  // and stays an error
}

TEST_P(LoaderShardChanged, TouchedOrIdenticallyReplacedShardsKeepTraining) {
  TempDir tmp("loader_touched");
  write_shard_dir(tmp.sub("d"), split_utts({8, 8}, 0, 12), {});
  const std::string s0 = tmp.sub("d") + "/shard-00000.h5", s1 = tmp.sub("d") + "/shard-00001.h5";
  Loader loader(config_for(tmp.sub("d"), GetParam()));
  const auto first = ids_of(drain_epoch(loader));
  fs::last_write_time(s0, fs::file_time_type::clock::now() + std::chrono::seconds(5));  // stamp differs
  fs::copy_file(s1, tmp.sub("copy.h5"));
  fs::rename(tmp.sub("copy.h5"), s1);  // new inode, same bytes
  EXPECT_EQ(drain_epoch(loader).size(), first.size());
  EXPECT_EQ(drain_epoch(loader).size(), first.size());  // the new stamps were accepted
}

TEST_P(LoaderShardChanged, DeletedShardIsAnErrorNamingIt) {
  TempDir tmp("loader_deleted");
  write_shard_dir(tmp.sub("d"), split_utts({8, 8}, 0, 13), {});
  const std::string gone = tmp.sub("d") + "/shard-00000.h5";
  Loader loader(config_for(tmp.sub("d"), GetParam()));
  drain_epoch(loader);
  fs::remove(gone);
  Batch b;
  EXPECT_ASR_ERROR(loader.next(b), gone + ": shard is gone since training started");
}

INSTANTIATE_TEST_SUITE_P(PrefetchOrNot, LoaderShardChanged, ::testing::Values(0, 2),
                         [](const auto& info) { return info.param ? "Prefetch" : "Synchronous"; });

}  // namespace
}  // namespace asr::data
