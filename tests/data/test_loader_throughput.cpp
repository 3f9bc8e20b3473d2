// Loader throughput on ~1000 small f16 utterances (80 mels, 0.5-3 s) in shards written by the
// production ShardWriter, with and without the prefetch thread. Prints the figures; asserts
// only that the epoch is complete.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>

#include "data/loader_test_util.h"

namespace asr::data {
namespace {

using namespace asr::data::test;

TEST(LoaderThroughput, OneEpochOfAThousandUtterances) {
  TempDir tmp("loader_throughput");
  ShardSpec spec;
  spec.n_mels = 80;
  spec.f16 = true;
  write_shard_dir_with_writer(tmp.sub("d"), split_utts({250, 250, 250, 250}, 0, 1, 50, 300), spec);
  for (int64_t prefetch : {4, 0}) {
    LoaderConfig c;
    c.shard_dirs = {tmp.sub("d")};
    c.batch_size = 32;
    c.num_buckets = 8;
    c.prefetch_batches = prefetch;
    Loader loader(c);
    std::set<int64_t> seen;
    int64_t batches = 0, frames = 0;
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();  // CPU time of all threads: robust on a busy machine
    Batch b;
    while (loader.next(b)) {
      ++batches;
      seen.insert(b.utterance_ids.begin(), b.utterance_ids.end());
      for (int64_t k = 0; k < b.feature_lengths.numel(); ++k) frames += b.feature_lengths.data<int64_t>()[k];
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    EXPECT_EQ(seen.size(), 1000u);
    std::printf("[ loader   ] prefetch %lld: %lld batches, %zu utterances, %lld frames in %.3f s: "
                "%.0f batches/s, %.0f utterances/s, %.1f M frames/s (CPU %.3f s)\n",
                static_cast<long long>(prefetch), static_cast<long long>(batches), seen.size(),
                static_cast<long long>(frames), s, batches / s, seen.size() / s, frames / s / 1e6, cpu);
  }
}

}  // namespace
}  // namespace asr::data
