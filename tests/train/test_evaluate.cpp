// evaluate_shards on real shards of the NeMo fixture audio: per-utterance hypotheses and CTC losses
// equal NeMo's, and the corpus WER/CER equal what the transcribe path (features computed from the
// audio, greedy decoding, word_error_rate over the manifest texts) gives for the same model.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "asr/audio/audio.h"
#include "asr/audio/features.h"
#include "asr/autograd/node.h"
#include "asr/data/shard_builder.h"
#include "asr/data/shard_format.h"
#include "asr/data/shard_plan.h"
#include "asr/io/manifest.h"
#include "asr/io/model_file.h"
#include "asr/models/conformer_ctc.h"
#include "asr/text/ctc_decoding.h"
#include "asr/text/tokenizer.h"
#include "asr/train/evaluate.h"
#include "support/test_util.h"
#include "text/nemo_reference.h"

namespace asr {
namespace {

const std::string kModel = std::string(ASR_FIXTURE_DIR) + "/nemo/conformer_ctc.nemo";
const std::string kManifest = std::string(ASR_FIXTURE_DIR) + "/nemo/audio/manifest.json";
const std::string kReference = std::string(ASR_FIXTURE_DIR) + "/nemo/conformer_ctc_reference.h5";

Tensor buffer(const io::ModelFile& mf, const char* key) {
  auto it = mf.weights.find(key);
  return it == mf.weights.end() ? Tensor() : it->second;
}

struct FixtureModel {
  io::ModelFile mf = io::load_model_file(kModel);
  text::Tokenizer tokenizer = text::Tokenizer::from_sentencepiece(mf.tokenizer_model, kModel);
  audio::FeatureExtractor fx{mf.config.preprocessor, buffer(mf, "preprocessor.featurizer.fb"),
                             buffer(mf, "preprocessor.featurizer.window")};
  std::unique_ptr<models::ConformerCtcModel> model = models::load_ctc_model(mf);
};

// The fixture manifest as `asr-adapt shard` writes it (plan, build, index), made once per process.
const std::string& fixture_shards(const FixtureModel& s) {
  static const std::string dir = [&s] {
    const std::string out = test::temp_path("eval_shards");
    std::filesystem::create_directories(out);
    const data::ShardPlan plan = data::plan_shards({kManifest}, s.tokenizer, s.fx.config(), {});
    data::ShardBuildOptions opt;
    opt.subsampling_factor = s.mf.config.encoder.subsampling_factor;
    opt.header.preprocessor_fingerprint =
        data::preprocessor_fingerprint(s.fx.config(), s.fx.filterbank(), s.fx.window());
    opt.header.tokenizer_fingerprint = data::tokenizer_fingerprint(s.mf.tokenizer_model);
    opt.header.n_mels = s.fx.config().features;
    std::vector<int64_t> all;
    for (size_t k = 0; k < plan.shards.size(); ++k) all.push_back(static_cast<int64_t>(k));
    const data::ShardBuildResult built = data::build_shards(plan, all, out, s.fx, opt);
    data::ShardIndex index;
    index.preprocessor_fingerprint = opt.header.preprocessor_fingerprint;
    index.tokenizer_fingerprint = opt.header.tokenizer_fingerprint;
    index.n_mels = opt.header.n_mels;
    for (const auto& b : built.shards) index.shards.push_back(b.info);
    data::write_shard_index(out, index);
    return out;
  }();
  return dir;
}

// What `asr-adapt transcribe --manifest` computes: each utterance's features from its audio,
// greedy decoding, then NeMo's corpus WER/CER against the manifest texts.
struct TranscribeWer {
  std::vector<std::string> hypotheses, references;
  text::ErrorRate wer, cer;
};
TranscribeWer transcribe_path(const FixtureModel& s) {
  TranscribeWer t;
  autograd::NoGradGuard ng;
  for (const io::ManifestEntry& e : io::read_manifest(kManifest)) {
    audio::Audio a = audio::load_audio(e.audio_filepath, s.fx.config().sample_rate, e.offset, 0.0);
    auto [features, lengths] = s.fx.compute_batch({a.samples});
    models::CtcOutput out = s.model->forward(features, lengths);
    t.hypotheses.push_back(s.tokenizer.decode(text::ctc_greedy_decode(out.log_probs, out.lengths, s.model->blank())[0]));
    t.references.push_back(e.text);
  }
  t.wer = text::word_error_rate(t.hypotheses, t.references, false);
  t.cer = text::word_error_rate(t.hypotheses, t.references, true);
  return t;
}

TEST(Evaluate, ShardsGiveNemoTranscriptsLossesAndTheTranscribeWer) {
  FixtureModel s;
  const std::string& shards = fixture_shards(s);
  train::EvalOptions opt;
  opt.batch_size = 2;  // padded batches and a single: results must not depend on batching
  std::vector<std::pair<int64_t, int64_t>> progress;
  opt.progress = [&](int64_t done, int64_t total) { progress.emplace_back(done, total); };
  const train::EvalResult r = train::evaluate_shards(*s.model, s.tokenizer, {shards}, opt);

  testing::ReferenceH5 ref(kReference);
  ASSERT_EQ(r.utterances, 5);
  ASSERT_EQ(r.utterances_detail.size(), 5u);
  ASSERT_EQ(progress.size(), 3u);
  EXPECT_EQ(progress.back(), std::make_pair(int64_t{3}, int64_t{3}));
  double loss_sum = 0;
  int64_t words = 0, word_errors = 0, chars = 0, char_errors = 0;
  for (int i = 0; i < 5; ++i) {
    const train::UtteranceResult& u = r.utterances_detail[static_cast<size_t>(i)];
    const std::string g = "utt" + std::to_string(i);
    EXPECT_EQ(u.utterance_id, i);
    EXPECT_EQ(u.reference, ref.attr_string(g, "text")) << g;
    EXPECT_EQ(u.hypothesis, ref.utf8(g + "/transcript_utf8")) << g;
    const double nemo_loss = ref.tensor(g + "/ctc_loss", DType::F64).data<double>()[0];
    EXPECT_NEAR(u.loss, nemo_loss, 2e-4 * nemo_loss) << g;
    const text::ErrorRate w = text::word_error_rate({u.hypothesis}, {u.reference});
    EXPECT_EQ(u.word_errors, w.errors);
    EXPECT_EQ(u.words, w.reference_length);
    loss_sum += u.loss;
    words += u.words;
    word_errors += u.word_errors;
    chars += u.chars;
    char_errors += u.char_errors;
  }
  // Totals are corpus sums (NeMo's Σ edits / Σ reference length), not means of per-utterance rates.
  EXPECT_EQ(r.words, words);
  EXPECT_EQ(r.word_errors, word_errors);
  EXPECT_EQ(r.chars, chars);
  EXPECT_EQ(r.char_errors, char_errors);
  EXPECT_DOUBLE_EQ(r.wer, static_cast<double>(word_errors) / static_cast<double>(words));
  EXPECT_DOUBLE_EQ(r.cer, static_cast<double>(char_errors) / static_cast<double>(chars));
  EXPECT_NEAR(r.loss, loss_sum / 5, 1e-9);
  EXPECT_GT(r.audio_seconds, 8.0);

  const TranscribeWer t = transcribe_path(s);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(r.utterances_detail[static_cast<size_t>(i)].hypothesis, t.hypotheses[static_cast<size_t>(i)]);
  EXPECT_EQ(r.word_errors, t.wer.errors);
  EXPECT_EQ(r.words, t.wer.reference_length);
  EXPECT_EQ(r.char_errors, t.cer.errors);
  EXPECT_EQ(r.chars, t.cer.reference_length);
  EXPECT_DOUBLE_EQ(r.wer, t.wer.rate());
}

TEST(Evaluate, BatchSizeDoesNotChangeTheResultAndDetailIsOptional) {
  FixtureModel s;
  train::EvalOptions one;
  one.batch_size = 1;
  train::EvalOptions all;
  all.batch_size = 16;
  all.keep_utterances = false;
  const train::EvalResult a = train::evaluate_shards(*s.model, s.tokenizer, {fixture_shards(s)}, one);
  const train::EvalResult b = train::evaluate_shards(*s.model, s.tokenizer, {fixture_shards(s)}, all);
  EXPECT_EQ(a.word_errors, b.word_errors);
  EXPECT_EQ(a.char_errors, b.char_errors);
  EXPECT_EQ(a.utterances, b.utterances);
  EXPECT_NEAR(a.loss, b.loss, 1e-4 * a.loss);
  EXPECT_EQ(a.utterances_detail.size(), 5u);
  EXPECT_TRUE(b.utterances_detail.empty());
}

TEST(Evaluate, AdaptersChangeTheResultAndDisablingThemRestoresIt) {
  FixtureModel s;
  const train::EvalResult base = train::evaluate_shards(*s.model, s.tokenizer, {fixture_shards(s)});
  s.model->add_adapter("decoder:probe", models::AdapterConfig::linear(8));
  {
    // A strong random adapter so the hypotheses visibly move.
    autograd::NoGradGuard ng;
    Generator gen(5);
    for (auto& [name, t] : s.model->named_parameters())
      if (name.find("adapter_layer") != std::string::npos)
        t.detach().copy_(Tensor::rand(t.shape(), gen, -3.0, 3.0, t.dtype()));
  }
  const train::EvalResult adapted = train::evaluate_shards(*s.model, s.tokenizer, {fixture_shards(s)});
  EXPECT_NE(adapted.loss, base.loss);
  s.model->set_all_adapters_enabled(false);
  const train::EvalResult off = train::evaluate_shards(*s.model, s.tokenizer, {fixture_shards(s)});
  EXPECT_EQ(off.loss, base.loss);
  EXPECT_EQ(off.word_errors, base.word_errors);
  for (size_t i = 0; i < base.utterances_detail.size(); ++i)
    EXPECT_EQ(off.utterances_detail[i].hypothesis, base.utterances_detail[i].hypothesis);
}

TEST(Evaluate, BadInputsAreErrors) {
  FixtureModel s;
  EXPECT_ASR_ERROR(train::evaluate_shards(*s.model, s.tokenizer, {}), "no shard directories");
  train::EvalOptions zero;
  zero.batch_size = 0;
  EXPECT_ASR_ERROR(train::evaluate_shards(*s.model, s.tokenizer, {fixture_shards(s)}, zero), "batch_size");
  EXPECT_ANY_THROW(train::evaluate_shards(*s.model, s.tokenizer, {test::temp_path("no_such_shards")}));

  // Shards made for another tokenizer/preprocessor are refused when the fingerprints are given.
  train::EvalOptions checked;
  checked.tokenizer_fingerprint = data::tokenizer_fingerprint(s.mf.tokenizer_model);
  checked.preprocessor_fingerprint =
      data::preprocessor_fingerprint(s.fx.config(), s.fx.filterbank(), s.fx.window());
  EXPECT_EQ(train::evaluate_shards(*s.model, s.tokenizer, {fixture_shards(s)}, checked).utterances, 5);
  checked.tokenizer_fingerprint = data::tokenizer_fingerprint(s.mf.tokenizer_model + "x");
  EXPECT_ASR_ERROR(train::evaluate_shards(*s.model, s.tokenizer, {fixture_shards(s)}, checked),
                   "was sharded with tokenizer fingerprint");
}

}  // namespace
}  // namespace asr
