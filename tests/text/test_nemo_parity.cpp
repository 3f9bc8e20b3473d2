// NeMo parity of the text side: greedy-decode NeMo's OWN log-probs from the reference fixtures
// with NeMo's tokenizer (read from the .nemo) and get NeMo's transcripts byte for byte.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "asr/text/ctc_decoding.h"
#include "asr/text/tokenizer.h"
#include "text/nemo_reference.h"

namespace {

using asr::Tensor;
using asr::testing::nemo_fixture;
using asr::testing::ReferenceH5;
using asr::text::Tokenizer;

class NemoTextParity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    nemo_ = nemo_fixture(GetParam() + ".nemo");
    h5_ = nemo_fixture(GetParam() + "_reference.h5");
    if (!std::filesystem::exists(nemo_) || !std::filesystem::exists(h5_))
      GTEST_SKIP() << "NeMo fixture " << GetParam() << " not present (tools/make_nemo_fixtures.py)";
  }
  Tokenizer tokenizer() const {
    return Tokenizer::from_sentencepiece(asr::testing::nemo_member(nemo_, "_tokenizer.model"), nemo_);
  }
  std::string nemo_, h5_;
};

TEST_P(NemoTextParity, VocabularyMatchesNemos) {
  ReferenceH5 ref(h5_);
  Tokenizer tok = tokenizer();
  auto vocab = nlohmann::json::parse(ref.attr_string("/", "vocabulary"));
  ASSERT_EQ(tok.vocab_size(), static_cast<int64_t>(vocab.size()));
  for (int64_t i = 0; i < tok.vocab_size(); ++i) EXPECT_EQ(tok.piece(i), vocab[i].get<std::string>()) << i;
}

TEST_P(NemoTextParity, GreedyDecodingOfNemoLogProbsGivesNemosTranscripts) {
  ReferenceH5 ref(h5_);
  Tokenizer tok = tokenizer();
  const int64_t blank = tok.vocab_size();
  int checked = 0;
  for (int u = 0; ref.has("utt" + std::to_string(u)); ++u, ++checked) {
    const std::string g = "utt" + std::to_string(u) + "/";
    Tensor lp = ref.tensor(g + "log_probs");  // [T', V+1]
    const int64_t T = lp.size(0);
    std::vector<int64_t> len = ref.ints(g + "encoded_length");
    ASSERT_LE(len[0], T);  // the features carry one frame past seq_len (NeMo >= 2.5)
    auto ids = asr::text::ctc_greedy_decode(lp.unsqueeze(0), Tensor::from_vector(len, {1}), blank);
    EXPECT_EQ(ids[0], ref.ints(g + "greedy_ids")) << g;
    EXPECT_EQ(tok.decode(ids[0]), ref.utf8(g + "transcript_utf8")) << g;
  }
  EXPECT_GE(checked, 1);
}

TEST_P(NemoTextParity, PaddedBatchDecodesLikeNemo) {
  ReferenceH5 ref(h5_);
  Tokenizer tok = tokenizer();
  Tensor lp = ref.tensor("batch/log_probs");  // [B, T'max, V+1], padded
  std::vector<int64_t> lens = ref.ints("batch/encoded_lengths");
  auto ids = asr::text::ctc_greedy_decode(lp, Tensor::from_vector(lens, {static_cast<int64_t>(lens.size())}),
                                          tok.vocab_size());
  auto expected = nlohmann::json::parse(ref.attr_string("/batch", "transcripts"));
  ASSERT_EQ(ids.size(), expected.size());
  for (size_t b = 0; b < ids.size(); ++b) EXPECT_EQ(tok.decode(ids[b]), expected[b].get<std::string>()) << b;
}

TEST_P(NemoTextParity, ReferenceTextsRoundTripThroughTheTokenizer) {
  // NeMo's CTC targets (target_ids) are text_to_ids of the manifest text.
  ReferenceH5 ref(h5_);
  Tokenizer tok = tokenizer();
  for (int u = 0; ref.has("utt" + std::to_string(u)); ++u) {
    const std::string g = "utt" + std::to_string(u);
    const std::string text = ref.attr_string(g, "text");
    EXPECT_EQ(tok.encode(text), ref.ints(g + "/target_ids")) << text;
    EXPECT_EQ(tok.decode(tok.encode(text)), text);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, NemoTextParity, ::testing::Values("conformer_ctc", "fastconformer_ctc"));

}  // namespace
