// The loader on small shards written here: batch contents (f32 and f16), coverage, bucketing,
// the batch_duration limit, per-epoch shuffling and its determinism, settings errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "data/loader_test_util.h"

namespace asr::data {
namespace {

using namespace asr::data::test;

LoaderConfig config_for(const std::string& dir, int64_t batch_size = 4) {
  LoaderConfig c;
  c.shard_dirs = {dir};
  c.batch_size = batch_size;
  c.num_buckets = 3;
  c.seed = 7;
  c.prefetch_batches = 2;
  return c;
}

// (f16 shards?, written by the production ShardWriter rather than the test writer?)
class LoaderContent : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(LoaderContent, BatchHoldsTheShardValuesTransposedAndZeroPadded) {
  TempDir tmp("loader_content");
  ShardSpec spec;
  spec.f16 = std::get<0>(GetParam());
  spec.n_mels = 5;
  const auto shards = split_utts({9, 7}, 0, 11);
  const auto all = std::get<1>(GetParam()) ? write_shard_dir_with_writer(tmp.sub("d"), shards, spec)
                                           : write_shard_dir(tmp.sub("d"), shards, spec);
  Loader loader(config_for(tmp.sub("d")));
  EXPECT_EQ(loader.n_mels(), 5);
  EXPECT_EQ(loader.num_utterances(), 16);
  int64_t seen = 0;
  for (const Batch& b : drain_epoch(loader)) {
    const int64_t bn = b.features.size(0), t_max = b.features.size(2), u_max = b.tokens.size(1);
    ASSERT_EQ(b.features.dtype(), DType::F32);
    ASSERT_EQ(b.tokens.dtype(), DType::I64);
    ASSERT_EQ(b.features.size(1), 5);
    const float* f = b.features.data<float>();
    const int64_t* tok = b.tokens.data<int64_t>();
    int64_t longest = 0, most_tokens = 0;
    for (int64_t k = 0; k < bn; ++k) {
      const TestUtt& u = all[static_cast<size_t>(b.utterance_ids[static_cast<size_t>(k)])];
      EXPECT_EQ(b.feature_lengths.data<int64_t>()[k], u.frames);
      EXPECT_EQ(b.token_lengths.data<int64_t>()[k], u.tokens);
      EXPECT_DOUBLE_EQ(b.durations[static_cast<size_t>(k)], u.duration);
      EXPECT_EQ(b.transcripts[static_cast<size_t>(k)], u.transcript);
      longest = std::max(longest, u.frames);
      most_tokens = std::max(most_tokens, u.tokens);
      for (int64_t m = 0; m < 5; ++m)
        for (int64_t t = 0; t < t_max; ++t) {
          const float want = t < u.frames ? feature_value(u.id, t, m) : 0.0f;
          ASSERT_EQ(f[(k * 5 + m) * t_max + t], want) << "utt " << u.id << " mel " << m << " frame " << t;
        }
      for (int64_t i = 0; i < u_max; ++i)
        ASSERT_EQ(tok[k * u_max + i], i < u.tokens ? token_value(u.id, i) : 0) << "utt " << u.id;
      ++seen;
    }
    EXPECT_EQ(t_max, longest);  // padded to the batch's longest, no further
    EXPECT_EQ(u_max, most_tokens);
  }
  EXPECT_EQ(seen, 16);
}

INSTANTIATE_TEST_SUITE_P(F32AndF16, LoaderContent, ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "f16" : "f32") +
                                  (std::get<1>(info.param) ? "_ShardWriter" : "_TestWriter");
                         });

TEST(Loader, EveryUtteranceOncePerEpochAcrossDirectories) {
  TempDir tmp("loader_cover");
  write_shard_dir(tmp.sub("a"), split_utts({10, 13, 6}, 0, 1), {});
  write_shard_dir(tmp.sub("b"), split_utts({8}, 29, 2), {});
  LoaderConfig c = config_for(tmp.sub("a"), 3);
  c.shard_dirs.push_back(tmp.sub("b"));
  Loader loader(c);
  ASSERT_EQ(loader.num_utterances(), 37);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    EXPECT_EQ(loader.position().epoch, epoch);
    const int64_t expected_batches = loader.batches_per_epoch();
    const auto batches = drain_epoch(loader);
    EXPECT_EQ(static_cast<int64_t>(batches.size()), expected_batches);
    std::multiset<int64_t> ids;
    for (const Batch& b : batches) {
      EXPECT_LE(b.utterance_ids.size(), 3u);
      ids.insert(b.utterance_ids.begin(), b.utterance_ids.end());
    }
    ASSERT_EQ(ids.size(), 37u);
    for (int64_t id = 0; id < 37; ++id) EXPECT_EQ(ids.count(id), 1u) << "id " << id;
  }
  EXPECT_EQ(loader.position().epoch, 2);
  EXPECT_EQ(loader.position().batch_index, 0);
}

TEST(Loader, BatchesStayWithinOneDurationBucket) {
  TempDir tmp("loader_buckets");
  const auto all = write_shard_dir(tmp.sub("d"), split_utts({20, 20}, 0, 5, 3, 200), {});
  LoaderConfig c = config_for(tmp.sub("d"), 4);
  c.num_buckets = 4;
  Loader loader(c);
  // The buckets as documented: sorted by duration (ties by id), four groups of ten.
  std::vector<TestUtt> sorted = all;
  std::sort(sorted.begin(), sorted.end(), [](const TestUtt& a, const TestUtt& b) {
    return a.duration != b.duration ? a.duration < b.duration : a.id < b.id;
  });
  std::map<int64_t, int> bucket_of;
  for (size_t i = 0; i < sorted.size(); ++i) bucket_of[sorted[i].id] = static_cast<int>(i / 10);
  for (const Batch& b : drain_epoch(loader)) {
    std::set<int> buckets;
    for (int64_t id : b.utterance_ids) buckets.insert(bucket_of.at(id));
    EXPECT_EQ(buckets.size(), 1u);
  }
}

TEST(Loader, BatchDurationBoundsThePaddedDuration) {
  TempDir tmp("loader_duration");
  const auto all = write_shard_dir(tmp.sub("d"), split_utts({30, 25}, 0, 9, 10, 60), {});
  LoaderConfig c = config_for(tmp.sub("d"), 0);
  c.batch_duration = 1.5;  // seconds; utterances are 0.1 .. 0.6 s
  Loader loader(c);
  std::set<int64_t> seen;
  size_t biggest = 0;
  for (const Batch& b : drain_epoch(loader)) {
    double sum = 0, longest = 0;
    for (double d : b.durations) sum += d, longest = std::max(longest, d);
    EXPECT_LE(sum, 1.5 + 1e-9);
    EXPECT_LE(longest * static_cast<double>(b.durations.size()), 1.5 + 1e-9);
    biggest = std::max(biggest, b.durations.size());
    seen.insert(b.utterance_ids.begin(), b.utterance_ids.end());
  }
  EXPECT_EQ(seen.size(), all.size());
  EXPECT_GE(biggest, 3u);  // the limit packs short utterances together
}

TEST(Loader, SameSeedAndEpochGiveTheSameBatchesOtherEpochsAnotherOrder) {
  TempDir tmp("loader_determinism");
  write_shard_dir(tmp.sub("d"), split_utts({15, 15}, 0, 3), {});
  LoaderConfig c = config_for(tmp.sub("d"), 3);
  Loader a(c), b(c);
  const auto a0 = ids_of(drain_epoch(a)), a1 = ids_of(drain_epoch(a));
  const auto b0 = ids_of(drain_epoch(b)), b1 = ids_of(drain_epoch(b));
  EXPECT_EQ(a0, b0);
  EXPECT_EQ(a1, b1);
  EXPECT_NE(a0, a1);
  c.seed = 8;
  Loader other(c);
  EXPECT_NE(ids_of(drain_epoch(other)), a0);
  // Without shuffling every epoch is the same (duration-sorted within buckets).
  c.shuffle = false;
  Loader fixed(c);
  const auto f0 = ids_of(drain_epoch(fixed));
  EXPECT_EQ(ids_of(drain_epoch(fixed)), f0);
}

TEST(Loader, SynchronousModeGivesTheSameBatchesAsPrefetch) {
  TempDir tmp("loader_sync");
  write_shard_dir(tmp.sub("d"), split_utts({12, 9}, 0, 4), {});
  LoaderConfig c = config_for(tmp.sub("d"), 4);
  Loader threaded(c);
  c.prefetch_batches = 0;
  Loader sync(c);
  for (int e = 0; e < 2; ++e) EXPECT_EQ(ids_of(drain_epoch(sync)), ids_of(drain_epoch(threaded)));
  EXPECT_EQ(sync.position().epoch, 2);
}

TEST(Loader, InvalidSettingsAreErrors) {
  TempDir tmp("loader_settings");
  write_shard_dir(tmp.sub("d"), split_utts({6}, 0, 4), {});
  LoaderConfig c = config_for(tmp.sub("d"), 0);
  EXPECT_ASR_ERROR(Loader{c}, "batch_size or batch_duration");
  c.batch_size = 2;
  c.rank = 2;
  c.world_size = 2;
  EXPECT_ASR_ERROR(Loader{c}, "rank 2");
  c.rank = 0;
  c.world_size = 4;  // 6 utterances make 3 batches: fewer than the ranks
  EXPECT_ASR_ERROR(Loader{c}, "fewer batches than the 4 ranks");
  c.world_size = 1;
  c.shard_dirs = {tmp.sub("missing")};
  EXPECT_ASR_ERROR(Loader{c}, "missing/index.json");
  c.shard_dirs = {};
  EXPECT_ASR_ERROR(Loader{c}, "no shard directories");
}

}  // namespace
}  // namespace asr::data
