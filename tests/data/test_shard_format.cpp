// Shard fingerprints, checksums and index.json: stable digests, atomic index, clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "asr/data/shard_format.h"
#include "support/test_util.h"

namespace {

namespace fs = std::filesystem;
using namespace asr;
using namespace asr::data;

std::string fresh_dir(const std::string& name) {
  const std::string d = test::temp_path(name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(ShardFormat, DigestsAreXxh64OfTheBytes) {
  // Reference values of XXH64 (seed 0) from the xxHash project.
  EXPECT_EQ(tokenizer_fingerprint(""), "xxh64:ef46db3751d8e999");
  EXPECT_EQ(tokenizer_fingerprint("a"), "xxh64:d24ec4f1a98c6e5b");
  EXPECT_EQ(tokenizer_fingerprint("abc"), "xxh64:44bc2cf5ad770999");
  EXPECT_NE(tokenizer_fingerprint("abd"), tokenizer_fingerprint("abc"));
}

TEST(ShardFormat, FileChecksumStreamsLargeFilesToTheSameDigest) {
  // Over 1 MiB with an odd length: the streaming path must agree with the one-shot digest.
  std::string bytes(3 * (1 << 20) + 37, '\0');
  std::mt19937 rng(7);
  for (auto& c : bytes) c = static_cast<char>(rng());
  const std::string path = test::temp_path("checksum.bin");
  std::ofstream(path, std::ios::binary) << bytes;
  EXPECT_EQ(file_checksum(path), tokenizer_fingerprint(bytes));
  EXPECT_ASR_ERROR(file_checksum(path + ".missing"), ".missing: cannot open");
}

TEST(ShardFormat, PreprocessorFingerprintFollowsEveryFeatureSetting) {
  io::PreprocessorConfig c;
  std::vector<float> fb(80 * 257, 0.5f), win(400, 1.0f);
  const std::string base = preprocessor_fingerprint(c, fb, win);
  EXPECT_EQ(base, preprocessor_fingerprint(c, fb, win));
  EXPECT_EQ(base.rfind("xxh64:", 0), 0u);

  io::PreprocessorConfig dither = c;
  dither.dither = 0.0;  // training-only noise: stored features do not depend on it
  EXPECT_EQ(preprocessor_fingerprint(dither, fb, win), base);

  io::PreprocessorConfig other = c;
  other.window_stride = 0.02;
  EXPECT_NE(preprocessor_fingerprint(other, fb, win), base);
  other = c;
  other.legacy_nemo_pre_2_5 = true;
  EXPECT_NE(preprocessor_fingerprint(other, fb, win), base);
  other = c;
  other.normalize = "all_features";
  EXPECT_NE(preprocessor_fingerprint(other, fb, win), base);
  auto fb2 = fb;
  fb2[1234] = 0.25f;
  EXPECT_NE(preprocessor_fingerprint(c, fb2, win), base);
  auto win2 = win;
  win2[0] = 0.0f;
  EXPECT_NE(preprocessor_fingerprint(c, fb, win2), base);
}

TEST(ShardFormat, IndexRoundTripsAndReplacesTheOldOneAtomically) {
  const std::string dir = fresh_dir("index_rt");
  ShardIndex idx;
  idx.preprocessor_fingerprint = "xxh64:0000000000000001";
  idx.tokenizer_fingerprint = "xxh64:0000000000000002";
  idx.n_mels = 80;
  idx.feature_dtype = "f16";
  idx.shards = {{"shard-00000.h5", 3, 500, 5.25, "xxh64:00000000000000aa"},
                {"shard-00001.h5", 1, 90, 0.9, "xxh64:00000000000000bb"}};
  write_shard_index(dir, idx);
  idx.shards.pop_back();
  write_shard_index(dir, idx);  // over the first one
  EXPECT_FALSE(fs::exists(dir + "/.index.json.tmp"));

  const ShardIndex back = read_shard_index(dir);
  EXPECT_EQ(back.schema_version, kShardSchemaVersion);
  EXPECT_EQ(back.preprocessor_fingerprint, idx.preprocessor_fingerprint);
  EXPECT_EQ(back.tokenizer_fingerprint, idx.tokenizer_fingerprint);
  EXPECT_EQ(back.n_mels, 80);
  EXPECT_EQ(back.feature_dtype, "f16");
  ASSERT_EQ(back.shards.size(), 1u);
  EXPECT_EQ(back.shards[0].file, "shard-00000.h5");
  EXPECT_EQ(back.shards[0].utterances, 3);
  EXPECT_EQ(back.shards[0].frames, 500);
  EXPECT_DOUBLE_EQ(back.shards[0].duration, 5.25);
  EXPECT_EQ(back.shards[0].checksum, "xxh64:00000000000000aa");

  std::ifstream in(dir + "/index.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"dtype\": \"f16\""), std::string::npos) << text;
}

TEST(ShardFormat, IndexErrorsNameTheFileAndTheProblem) {
  const std::string dir = fresh_dir("index_bad");
  EXPECT_ASR_ERROR(read_shard_index(dir), dir + "/index.json: cannot open");
  auto put = [&](const std::string& text) { std::ofstream(dir + "/index.json") << text; };
  put("{\"schema_version\": 1, ");
  EXPECT_ASR_ERROR(read_shard_index(dir), "index.json: not valid JSON");
  put(R"({"schema_version": 2, "preprocessor_fingerprint": "a", "tokenizer_fingerprint": "b", "n_mels": 80, "dtype": "f32", "shards": []})");
  EXPECT_ASR_ERROR(read_shard_index(dir), "schema_version 2 is not supported");
  put(R"({"schema_version": 1, "tokenizer_fingerprint": "b", "n_mels": 80, "dtype": "f32", "shards": []})");
  EXPECT_ASR_ERROR(read_shard_index(dir), "missing \"preprocessor_fingerprint\"");
  put(R"({"schema_version": 1, "preprocessor_fingerprint": "a", "tokenizer_fingerprint": "b", "n_mels": 80, "dtype": "f32", "shards": [{"file": "s.h5", "utterances": "many", "frames": 1, "duration": 1, "checksum": "x"}]})");
  EXPECT_ASR_ERROR(read_shard_index(dir), "shards[0]: \"utterances\" has the wrong type");
  put(R"({"schema_version": 1, "preprocessor_fingerprint": "a", "tokenizer_fingerprint": "b", "n_mels": 80, "dtype": "bf16", "shards": []})");
  EXPECT_ASR_ERROR(read_shard_index(dir), "\"dtype\" must be \"f16\" or \"f32\"");
}

}  // namespace
