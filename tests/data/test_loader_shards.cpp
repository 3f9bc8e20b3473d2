// The loader against shards it must refuse: fingerprints of another model, truncated files,
// offsets outside the datasets, feature chunks that fail to decode while the epoch runs.
#include <gtest/gtest.h>

#include <set>

#include "data/loader_test_util.h"

namespace asr::data {
namespace {

using namespace asr::data::test;

LoaderConfig config_for(const std::string& dir) {
  LoaderConfig c;
  c.shard_dirs = {dir};
  c.batch_size = 4;
  c.num_buckets = 2;
  c.prefetch_batches = 2;
  return c;
}

TEST(LoaderShards, FingerprintMismatchNamesBothFingerprintsAndTheDirectory) {
  TempDir tmp("loader_fp");
  ShardSpec spec;
  spec.fingerprint_pre = "xxh64:1111";
  spec.fingerprint_tok = "xxh64:2222";
  write_shard_dir(tmp.sub("d"), split_utts({5}, 0, 1), spec);
  LoaderConfig c = config_for(tmp.sub("d"));
  c.preprocessor_fingerprint = "xxh64:9999";
  try {
    Loader loader(c);
    FAIL() << "expected a fingerprint error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("xxh64:1111"), std::string::npos) << msg;
    EXPECT_NE(msg.find("xxh64:9999"), std::string::npos) << msg;
    EXPECT_NE(msg.find(tmp.sub("d")), std::string::npos) << msg;
    EXPECT_NE(msg.find("preprocessor"), std::string::npos) << msg;
  }
  c.preprocessor_fingerprint = "xxh64:1111";
  c.tokenizer_fingerprint = "xxh64:3333";
  EXPECT_ASR_ERROR(Loader{c}, "tokenizer fingerprint xxh64:2222 but the model's is xxh64:3333");
  c.tokenizer_fingerprint = "xxh64:2222";
  EXPECT_EQ(Loader(c).num_utterances(), 5);  // matching fingerprints load
  c.skip_corrupt_shards = true;                // not corruption: still refused
  c.tokenizer_fingerprint = "xxh64:3333";
  EXPECT_ASR_ERROR(Loader{c}, "xxh64:3333");
}

TEST(LoaderShards, TruncatedShardIsAnErrorNamingItOrSkippedOnRequest) {
  TempDir tmp("loader_trunc");
  const auto all = write_shard_dir(tmp.sub("d"), split_utts({6, 7, 5}, 0, 2), {});
  const std::string bad = tmp.sub("d") + "/shard-00001.h5";
  truncate_to_half(bad);
  LoaderConfig c = config_for(tmp.sub("d"));
  EXPECT_ASR_ERROR(Loader{c}, bad);
  c.skip_corrupt_shards = true;
  Loader loader(c);
  EXPECT_EQ(loader.num_utterances(), 11);
  std::set<int64_t> seen;
  for (const Batch& b : drain_epoch(loader)) seen.insert(b.utterance_ids.begin(), b.utterance_ids.end());
  EXPECT_EQ(seen.size(), 11u);
  // Global ids count the shards that were loaded: the third shard's utterances follow the first's.
  Loader again(c);
  Batch b;
  ASSERT_TRUE(again.next(b));
  for (size_t k = 0; k < b.utterance_ids.size(); ++k) {
    const int64_t id = b.utterance_ids[k];
    const TestUtt& u = all[static_cast<size_t>(id < 6 ? id : id + 7)];
    EXPECT_EQ(b.transcripts[k], u.transcript);
  }
}

TEST(LoaderShards, NotAnHdf5FileIsAnErrorNamingIt) {
  TempDir tmp("loader_garbage");
  write_shard_dir(tmp.sub("d"), split_utts({4, 4}, 0, 2), {});
  const std::string bad = tmp.sub("d") + "/shard-00000.h5";
  { std::ofstream(bad, std::ios::trunc) << "not hdf5 at all"; }
  EXPECT_ASR_ERROR(Loader{config_for(tmp.sub("d"))}, bad);
  std::filesystem::remove(bad);
  EXPECT_ASR_ERROR(Loader{config_for(tmp.sub("d"))}, bad);
}

TEST(LoaderShards, OffsetsOutsideTheDatasetsAreCorrupt) {
  TempDir tmp("loader_offsets");
  write_shard_dir(tmp.sub("d"), split_utts({5, 5}, 0, 3), {});
  const std::string bad = tmp.sub("d") + "/shard-00000.h5";
  poke_i64(bad, shard_keys::kFeatureOffsets, 2, 100000);
  EXPECT_ASR_ERROR(Loader{config_for(tmp.sub("d"))}, bad + ": corrupt shard: utterance 2 has feature offset 100000");

  write_shard_dir(tmp.sub("e"), split_utts({5}, 0, 3), {});
  poke_i64(tmp.sub("e") + "/shard-00000.h5", shard_keys::kTokenLengths, 4, -1);
  EXPECT_ASR_ERROR(Loader{config_for(tmp.sub("e"))}, "token offset");

  write_shard_dir(tmp.sub("f"), split_utts({5}, 0, 3), {});
  poke_i64(tmp.sub("f") + "/shard-00000.h5", shard_keys::kFeatureLengths, 4, int64_t{1} << 62);
  LoaderConfig c = config_for(tmp.sub("f"));
  EXPECT_ASR_ERROR(Loader{c}, "outside");
  c.skip_corrupt_shards = true;  // its only shard skipped: nothing left
  EXPECT_ASR_ERROR(Loader{c}, "no utterances");
}

TEST(LoaderShards, UtteranceCountDisagreeingWithIndexIsCorrupt) {
  TempDir tmp("loader_count");
  write_shard_dir(tmp.sub("d"), split_utts({5}, 0, 3), {});
  // Rewrite the shard with fewer utterances than index.json lists.
  write_shard_file(tmp.sub("d") + "/shard-00000.h5", make_utts(4, 0, 3), {});
  EXPECT_ASR_ERROR(Loader{config_for(tmp.sub("d"))}, "holds 4 utterances, its index.json says 5");
}

TEST(LoaderShards, ReadFailureInThePrefetchThreadIsRethrownFromNext) {
  TempDir tmp("loader_chunks");
  ShardSpec spec;
  spec.compress = true;
  write_shard_dir(tmp.sub("d"), split_utts({8, 8}, 0, 6), spec);
  const std::string bad = tmp.sub("d") + "/shard-00001.h5";
  corrupt_feature_chunks(bad);  // metadata intact: the constructor accepts it
  LoaderConfig c = config_for(tmp.sub("d"));
  c.shuffle = false;
  c.num_buckets = 1;
  c.batch_size = 1;
  Loader loader(c);
  Batch b;
  int good = 0;
  bool threw = false;
  for (int i = 0; i < 20 && !threw; ++i) {
    try {
      if (!loader.next(b)) break;
      EXPECT_LT(b.utterance_ids[0], 8);  // every batch before the failure is whole and correct
      ++good;
    } catch (const Error& e) {
      threw = true;
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(threw);
  EXPECT_LT(good, 16);
  EXPECT_ASR_ERROR(loader.next(b), bad);  // the error stays until restore()
}

}  // namespace
}  // namespace asr::data
