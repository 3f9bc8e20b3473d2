// The loader split across ranks: disjoint utterances, the same batch count on every rank, the
// union covering everything when the batch count divides, the documented round-robin split.
#include <gtest/gtest.h>

#include <set>

#include "data/loader_test_util.h"

namespace asr::data {
namespace {

using namespace asr::data::test;

LoaderConfig config_for(const std::string& dir, int64_t world, int64_t rank) {
  LoaderConfig c;
  c.shard_dirs = {dir};
  c.batch_size = 3;
  c.num_buckets = 3;
  c.seed = 21;
  c.world_size = world;
  c.rank = rank;
  c.prefetch_batches = 2;
  return c;
}

// Three shards of different sizes for 1, 2 and 3 ranks, over two epochs.
TEST(LoaderDist, RanksGetDisjointEqualShareOfTheOneGlobalPlan) {
  TempDir tmp("loader_dist");
  write_shard_dir(tmp.sub("d"), split_utts({11, 4, 9}, 0, 13), {});
  for (int64_t world : {2, 3}) {
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      Loader single(config_for(tmp.sub("d"), 1, 0));
      single.restore({epoch, 0});
      const auto global = ids_of(drain_epoch(single));
      const size_t rounds = global.size() / static_cast<size_t>(world);
      std::set<int64_t> seen;
      size_t total = 0;
      for (int64_t rank = 0; rank < world; ++rank) {
        Loader loader(config_for(tmp.sub("d"), world, rank));
        loader.restore({epoch, 0});
        EXPECT_EQ(loader.batches_per_epoch(), static_cast<int64_t>(rounds));
        const auto mine = ids_of(drain_epoch(loader));
        ASSERT_EQ(mine.size(), rounds) << "world " << world << " rank " << rank;
        for (size_t i = 0; i < rounds; ++i) {
          // Round i's batches go to ranks 0..world-1 in order.
          EXPECT_EQ(mine[i], global[i * static_cast<size_t>(world) + static_cast<size_t>(rank)]);
          for (int64_t id : mine[i]) EXPECT_TRUE(seen.insert(id).second) << "id " << id << " on two ranks";
          total += mine[i].size();
        }
      }
      // What was dropped is the last incomplete round, nothing else.
      size_t dropped = 0;
      for (size_t i = rounds * static_cast<size_t>(world); i < global.size(); ++i) dropped += global[i].size();
      EXPECT_EQ(total + dropped, 24u);
      EXPECT_EQ(seen.size(), total);
    }
  }
}

TEST(LoaderDist, EvenBatchCountCoversEveryUtteranceExactlyOnce) {
  TempDir tmp("loader_dist_even");
  // One bucket, 24 utterances, batches of 3: 8 batches, 4 per rank of 2.
  write_shard_dir(tmp.sub("d"), split_utts({10, 5, 9}, 0, 17), {});
  std::multiset<int64_t> seen;
  for (int64_t rank = 0; rank < 2; ++rank) {
    LoaderConfig c = config_for(tmp.sub("d"), 2, rank);
    c.num_buckets = 1;
    Loader loader(c);
    EXPECT_EQ(loader.batches_per_epoch(), 4);
    for (const Batch& b : drain_epoch(loader)) seen.insert(b.utterance_ids.begin(), b.utterance_ids.end());
  }
  ASSERT_EQ(seen.size(), 24u);
  for (int64_t id = 0; id < 24; ++id) EXPECT_EQ(seen.count(id), 1u) << "id " << id;
}

}  // namespace
}  // namespace asr::data
