// Resuming (position/restore gives exactly the batches an uninterrupted run would have given,
// also across epoch boundaries) and the prefetch thread's bounded queue and shutdown.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "data/loader_test_util.h"

namespace asr::data {
namespace {

using namespace asr::data::test;
using Sequence = std::vector<std::vector<int64_t>>;  // ids per next() call; {-1} = end of epoch

LoaderConfig config_for(const std::string& dir, int64_t prefetch) {
  LoaderConfig c;
  c.shard_dirs = {dir};
  c.batch_size = 3;
  c.num_buckets = 2;
  c.seed = 5;
  c.prefetch_batches = prefetch;
  return c;
}

Sequence take(Loader& loader, int calls) {
  Sequence s;
  Batch b;
  for (int i = 0; i < calls; ++i) s.push_back(loader.next(b) ? b.utterance_ids : std::vector<int64_t>{-1});
  return s;
}

class LoaderResume : public ::testing::TestWithParam<int64_t> {};  // prefetch_batches

TEST_P(LoaderResume, RestoreContinuesExactlyAsAnUninterruptedRun) {
  TempDir tmp("loader_resume");
  write_shard_dir(tmp.sub("d"), split_utts({9, 8}, 0, 3), {});
  const LoaderConfig c = config_for(tmp.sub("d"), GetParam());
  Loader reference(c);
  const int64_t per_epoch = reference.batches_per_epoch();
  ASSERT_GE(per_epoch, 4);
  const int total = static_cast<int>(3 * (per_epoch + 1));  // three epochs and their ends
  const Sequence full = take(reference, total);
  // Cut mid-epoch, just before and just after an epoch's end, and inside the second epoch.
  for (int cut : {0, 2, static_cast<int>(per_epoch), static_cast<int>(per_epoch + 1),
                  static_cast<int>(per_epoch + 3)}) {
    Loader first(c);
    take(first, cut);
    const LoaderPosition pos = first.position();
    Loader resumed(c);
    resumed.restore(pos);
    EXPECT_EQ(resumed.position().epoch, pos.epoch);
    EXPECT_EQ(take(resumed, total - cut), Sequence(full.begin() + cut, full.end())) << "cut " << cut;
    // Rewinding a loader whose thread has run ahead also continues exactly.
    take(first, 3);
    first.restore(pos);
    EXPECT_EQ(take(first, total - cut), Sequence(full.begin() + cut, full.end())) << "rewind " << cut;
  }
  EXPECT_ASR_ERROR(reference.restore({0, per_epoch + 1}), "batch_index");
  EXPECT_ASR_ERROR(reference.restore({-1, 0}), "negative epoch");
}

INSTANTIATE_TEST_SUITE_P(PrefetchAndSync, LoaderResume, ::testing::Values(int64_t{3}, int64_t{0}));

// Polls `built` until it reaches `want` (or 2 s pass), then gives the thread time to overshoot.
int64_t settle(const Loader& loader, int64_t want) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (loader.batches_built() < want && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return loader.batches_built();
}

TEST(LoaderPrefetch, BuildsAtMostPrefetchBatchesAhead) {
#ifndef H5_HAVE_THREADSAFE
  GTEST_SKIP() << "libhdf5 is not thread-safe: the loader reads without a prefetch thread";
#endif
  TempDir tmp("loader_prefetch");
  write_shard_dir(tmp.sub("d"), split_utts({20}, 0, 8), {});
  LoaderConfig c = config_for(tmp.sub("d"), 2);
  c.batch_size = 1;  // 20 batches per epoch
  Loader loader(c);
  EXPECT_EQ(settle(loader, 0), 0);  // nothing is built before the first next()
  Batch b;
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(settle(loader, 3), 3);  // the one returned plus two queued, no more
  ASSERT_TRUE(loader.next(b));
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(settle(loader, 5), 5);

  c.prefetch_batches = 0;
  Loader sync(c);
  ASSERT_TRUE(sync.next(b));
  EXPECT_EQ(settle(sync, 1), 1);
}

TEST(LoaderPrefetch, DestroyingWithAFullQueueReturnsPromptly) {
  TempDir tmp("loader_shutdown");
  write_shard_dir(tmp.sub("d"), split_utts({30}, 0, 9), {});
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    Loader loader(config_for(tmp.sub("d"), 4));
    Batch b;
    ASSERT_TRUE(loader.next(b));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // let the queue fill
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace asr::data
