// plan_shards: manifest items checked and assigned to shards deterministically, before any audio
// is read; skip reasons as the shard command reports them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "asr/data/shard_builder.h"
#include "asr/data/shard_plan.h"
#include "asr/io/model_file.h"
#include "asr/text/tokenizer.h"
#include "support/test_util.h"

namespace {

namespace fs = std::filesystem;
using namespace asr;
using namespace asr::data;

const text::Tokenizer& tokenizer() {
  static text::Tokenizer tok = [] {
    const std::string nemo = std::string(ASR_FIXTURE_DIR) + "/nemo/conformer_ctc.nemo";
    return text::Tokenizer::from_sentencepiece(io::load_model_file(nemo).tokenizer_model, nemo);
  }();
  return tok;
}

std::string write_manifest(const std::string& name, const std::string& text) {
  const std::string dir = test::temp_path("plan_" + name);
  fs::create_directories(dir);
  const std::string path = dir + "/manifest.json";
  std::ofstream(path) << text;
  return path;
}

std::string item(const std::string& audio, double duration, const std::string& text) {
  return "{\"audio_filepath\": \"" + audio + "\", \"duration\": " + std::to_string(duration) + ", \"text\": \"" + text + "\"}\n";
}

TEST(ShardPlan, ClassifiesBadManifestLinesByReason) {
  const std::string m = write_manifest("reasons",
      item("a.wav", 1.0, "the cat sat on the mat") +               // 1 ok
      "{\"audio_filepath\": \"b.wav\", \"duration\": 1.0,\n" +     // 2 JSON syntax
      "[1, 2]\n" +                                                 // 3 not an object
      "{\"duration\": 1.0, \"text\": \"the cat\"}\n" +             // 4 no audio_filepath
      "{\"audio_filepath\": \"c.wav\", \"text\": \"the cat\"}\n" + // 5 no duration
      "{\"audio_filepath\": \"d.wav\", \"duration\": 1.0}\n" +     // 6 no text
      "{\"audio_filepath\": \"e.wav\", \"duration\": null, \"text\": \"the cat\"}\n" +  // 7 null duration
      "\n" +                                                       // 8 blank: not an item
      item("f.wav", 0.2, "the cat") +                              // 9 too short
      item("g.wav", 30.0, "the cat") +                             // 10 too long
      item("h.wav", 1.0, "  ") +                                   // 11 empty transcript
      item("i.wav", 1.0, "the cat \u0416"));                      // 12 <unk>: kept
  ShardPlanOptions opt;
  opt.min_duration = 0.5;
  opt.max_duration = 20;
  const ShardPlan plan = plan_shards({m}, tokenizer(), io::PreprocessorConfig(), opt);

  EXPECT_EQ(plan.manifest_items, 11);
  EXPECT_EQ(plan.utterances, 2);
  std::vector<std::pair<SkipReason, std::string>> got;
  for (const auto& s : plan.skipped) got.emplace_back(s.reason, s.where);
  const std::vector<std::pair<SkipReason, std::string>> want = {
      {SkipReason::JsonSyntax, m + ":2"},      {SkipReason::JsonSyntax, m + ":3"},
      {SkipReason::MissingField, m + ":4"},    {SkipReason::MissingField, m + ":5"},
      {SkipReason::MissingField, m + ":6"},    {SkipReason::MissingField, m + ":7"},
      {SkipReason::DurationRange, m + ":9"},   {SkipReason::DurationRange, m + ":10"},
      {SkipReason::EmptyTranscript, m + ":11"}};
  EXPECT_EQ(got, want);
  EXPECT_NE(plan.skipped[2].detail.find("audio_filepath"), std::string::npos) << plan.skipped[2].detail;
  EXPECT_NE(plan.skipped[4].detail.find("text"), std::string::npos) << plan.skipped[4].detail;
  ASSERT_EQ(plan.kept_with_unknown.size(), 1u);
  EXPECT_EQ(plan.kept_with_unknown[0].where, m + ":12");
  EXPECT_EQ(plan.kept_with_unknown[0].detail, "'\u0416'");

  ASSERT_EQ(plan.shards.size(), 1u);
  const auto& items = plan.shards[0].items;
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].where, m + ":1");
  EXPECT_EQ(items[1].where, m + ":12");
  std::vector<int32_t> want_tokens;
  for (int64_t id : tokenizer().encode("the cat sat on the mat")) want_tokens.push_back(static_cast<int32_t>(id));
  EXPECT_EQ(items[0].tokens, want_tokens);
  EXPECT_NE(std::find(items[1].tokens.begin(), items[1].tokens.end(), tokenizer().unk_id()), items[1].tokens.end());
}

TEST(ShardPlan, FillsShardsUpToTheEstimatedSizeInManifestOrder) {
  std::string a, b;
  for (int i = 0; i < 6; ++i) a += item("a" + std::to_string(i) + ".wav", 1.0, "the cat");
  for (int i = 0; i < 4; ++i) b += item("b" + std::to_string(i) + ".wav", 1.0, "the mat");
  const std::string ma = write_manifest("size_a", a), mb = write_manifest("size_b", b);
  io::PreprocessorConfig pre;  // 64 mels, 10 ms hop: 1 s = 101 frames = 25856 bytes in f32
  pre.features = 64;
  ShardPlanOptions opt;
  opt.max_shard_bytes = 60000;
  ShardPlan plan = plan_shards({ma, mb}, tokenizer(), pre, opt);
  ASSERT_EQ(plan.shards.size(), 5u);
  EXPECT_EQ(plan.utterances, 10);
  EXPECT_DOUBLE_EQ(plan.duration, 10.0);
  for (size_t k = 0; k < plan.shards.size(); ++k) {
    EXPECT_EQ(plan.shards[k].file, shard_file_name(static_cast<int64_t>(k)));
    EXPECT_EQ(plan.shards[k].items.size(), 2u);
    EXPECT_LE(plan.shards[k].estimated_bytes, opt.max_shard_bytes);
  }
  EXPECT_EQ(plan.shards[3].items[0].where, mb + ":1");  // a's 6 items fill shards 0-2
  opt.feature_dtype = "f16";  // half the bytes: twice the utterances per shard
  plan = plan_shards({ma, mb}, tokenizer(), pre, opt);
  ASSERT_EQ(plan.shards.size(), 3u);
  EXPECT_EQ(plan.shards[0].items.size(), 4u);
  // One utterance larger than the limit still gets a shard of its own.
  opt.max_shard_bytes = 1000;
  EXPECT_EQ(plan_shards({ma}, tokenizer(), pre, opt).shards.size(), 6u);
}

TEST(ShardPlan, SourceFingerprintFollowsTheShardsOwnItems) {
  std::string text;
  for (int i = 0; i < 4; ++i) text += item("a" + std::to_string(i) + ".wav", 1.0, "the cat");
  ShardPlanOptions opt;
  opt.max_shard_bytes = 60000;
  io::PreprocessorConfig pre;
  const ShardPlan p1 = plan_shards({write_manifest("fp1", text)}, tokenizer(), pre, opt);
  const ShardPlan p2 = plan_shards({write_manifest("fp2", text)}, tokenizer(), pre, opt);
  ASSERT_EQ(p1.shards.size(), 2u);
  EXPECT_EQ(p1.shards[0].source_fingerprint, p2.shards[0].source_fingerprint);
  EXPECT_NE(p1.shards[0].source_fingerprint, p1.shards[1].source_fingerprint);
  std::string changed = text;
  changed.replace(changed.rfind("the cat"), 7, "the mat");  // last item, second shard
  const ShardPlan p3 = plan_shards({write_manifest("fp3", changed)}, tokenizer(), pre, opt);
  EXPECT_EQ(p3.shards[0].source_fingerprint, p1.shards[0].source_fingerprint);
  EXPECT_NE(p3.shards[1].source_fingerprint, p1.shards[1].source_fingerprint);
  opt.feature_dtype = "f16";
  const ShardPlan p4 = plan_shards({write_manifest("fp4", text)}, tokenizer(), pre, opt);
  EXPECT_NE(p4.shards[0].source_fingerprint, p1.shards[0].source_fingerprint);
}

TEST(ShardPlan, RelativeAudioPathsResolveAgainstTheManifestFolder) {
  const std::string m = write_manifest("relative", item("clip.wav", 1.0, "the cat"));
  std::ofstream(fs::path(m).parent_path() / "clip.wav") << "x";
  const ShardPlan plan = plan_shards({m}, tokenizer(), io::PreprocessorConfig(), ShardPlanOptions());
  ASSERT_EQ(plan.utterances, 1);
  EXPECT_EQ(plan.shards[0].items[0].audio_path, (fs::path(m).parent_path() / "clip.wav").string());
}

TEST(ShardPlan, UnreadableManifestIsAnError) {
  EXPECT_ASR_ERROR(plan_shards({"/no/such/manifest.json"}, tokenizer(), io::PreprocessorConfig(), ShardPlanOptions()),
                   "/no/such/manifest.json: cannot open manifest");
}

TEST(ShardPlan, ParsesByteSizes) {
  EXPECT_EQ(parse_byte_size("512MiB"), int64_t{512} << 20);
  EXPECT_EQ(parse_byte_size("1.5GiB"), int64_t{3} << 29);
  EXPECT_EQ(parse_byte_size("64k"), 65536);
  EXPECT_EQ(parse_byte_size("2MB"), 2000000);
  EXPECT_EQ(parse_byte_size("4096"), 4096);
  EXPECT_ASR_ERROR(parse_byte_size("lots"), "size 'lots'");
  EXPECT_ASR_ERROR(parse_byte_size("12 parsecs"), "size '12 parsecs'");
  EXPECT_ASR_ERROR(parse_byte_size("-5MiB"), "must be a positive");
}

TEST(ShardPlan, CtcNeedsABlankBetweenRepeatedLabels) {
  EXPECT_EQ(ctc_min_frames({}), 0);
  EXPECT_EQ(ctc_min_frames({1, 2, 3}), 3);
  EXPECT_EQ(ctc_min_frames({1, 1, 2, 2, 2}), 8);
}

TEST(ShardPlan, SkipReasonKeysRoundTrip) {
  for (int r = 0; r < kNumSkipReasons; ++r)
    EXPECT_EQ(skip_reason_from_key(skip_reason_key(static_cast<SkipReason>(r))), static_cast<SkipReason>(r));
  EXPECT_ASR_ERROR(skip_reason_from_key("bogus"), "unknown skip reason 'bogus'");
  const std::vector<SkipRecord> recs = {{SkipReason::AudioCorrupt, "m.json:3", "bad \"header\""}};
  const auto back = skipped_from_json(skipped_to_json(recs), "x");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].reason, SkipReason::AudioCorrupt);
  EXPECT_EQ(back[0].where, "m.json:3");
  EXPECT_EQ(back[0].detail, "bad \"header\"");
}

}  // namespace
