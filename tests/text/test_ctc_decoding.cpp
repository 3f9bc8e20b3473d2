// Greedy CTC collapse (NeMo's rule) and corpus-level WER/CER against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "asr/text/ctc_decoding.h"

namespace {

using asr::Tensor;
using asr::text::ctc_greedy_decode;
using asr::text::word_error_rate;

// log-probs [B, T, C] whose argmax per frame is `frames[b][t]` (rows padded with blanks).
Tensor one_hot_log_probs(const std::vector<std::vector<int64_t>>& frames, int64_t T, int64_t C) {
  std::vector<double> v(static_cast<size_t>(frames.size() * T * C), -5.0);
  for (size_t b = 0; b < frames.size(); ++b)
    for (int64_t t = 0; t < T; ++t) {
      int64_t k = t < static_cast<int64_t>(frames[b].size()) ? frames[b][t] : C - 1;
      v[(b * T + t) * C + k] = -0.1;
    }
  return Tensor::from_vector(v, {static_cast<int64_t>(frames.size()), T, C});
}

Tensor lengths(std::vector<int64_t> l) { return Tensor::from_vector(l, {static_cast<int64_t>(l.size())}); }

TEST(CtcGreedy, CollapsesRepeatsAndDropsBlanks) {
  const int64_t blank = 4;
  auto out = ctc_greedy_decode(one_hot_log_probs({{1, 1, 2, 2, 2, 3}}, 6, 5), lengths({6}), blank);
  EXPECT_EQ(out[0], (std::vector<int64_t>{1, 2, 3}));
}

TEST(CtcGreedy, BlankBetweenRepeatsKeepsBoth) {
  const int64_t b = 4;
  auto out = ctc_greedy_decode(one_hot_log_probs({{1, b, 1, 1, b, b, 1}}, 7, 5), lengths({7}), b);
  EXPECT_EQ(out[0], (std::vector<int64_t>{1, 1, 1}));
}

TEST(CtcGreedy, LeadingAndTrailingBlanksEmitNothing) {
  const int64_t b = 4;
  auto out = ctc_greedy_decode(one_hot_log_probs({{b, b, 0, b}, {b, b, b, b}}, 4, 5), lengths({4, 4}), b);
  EXPECT_EQ(out[0], (std::vector<int64_t>{0}));  // id 0 (<unk>) is a real token, not blank
  EXPECT_TRUE(out[1].empty());
}

TEST(CtcGreedy, FramesBeyondTheLengthAreIgnored) {
  const int64_t b = 3;
  // Utterance 0: length 3 cuts off the trailing 2; utterance 1: length 0 -> nothing.
  auto out = ctc_greedy_decode(one_hot_log_probs({{0, 0, 1, 2, 2}, {1, 2, 1, 2, 1}}, 5, 4), lengths({3, 0}), b);
  EXPECT_EQ(out[0], (std::vector<int64_t>{0, 1}));
  EXPECT_TRUE(out[1].empty());
}

TEST(CtcGreedy, TiesPickTheFirstMaximumAsTorchDoes) {
  // Frame 0: classes 1 and 2 tie -> 1. Frame 1: 2 wins.
  Tensor lp = Tensor::from_vector(std::vector<double>{-1, -0.5, -0.5, -2, -1, -2, -0.1, -3}, {1, 2, 4});
  auto out = ctc_greedy_decode(lp, lengths({2}), 3);
  EXPECT_EQ(out[0], (std::vector<int64_t>{1, 2}));
}

TEST(CtcGreedy, BadShapesAreErrors) {
  Tensor lp = Tensor::zeros({2, 3, 4});
  EXPECT_THROW(ctc_greedy_decode(lp, lengths({3}), 3), asr::Error);        // wrong batch
  EXPECT_THROW(ctc_greedy_decode(lp, lengths({3, 4}), 3), asr::Error);     // length > T
  EXPECT_THROW(ctc_greedy_decode(lp, lengths({3, 3}), 4), asr::Error);     // blank out of range
  EXPECT_THROW(ctc_greedy_decode(Tensor::zeros({3, 4}), lengths({3}), 3), asr::Error);
}

TEST(WordErrorRate, SubstitutionInsertionDeletion) {
  // ref 6 words; hyp: 1 substitution (sat->sit), 1 deletion (on), 1 insertion (big).
  auto r = word_error_rate({"the cat sit the big mat"}, {"the cat sat on the mat"});
  EXPECT_EQ(r.errors, 3);
  EXPECT_EQ(r.reference_length, 6);
  EXPECT_DOUBLE_EQ(r.rate(), 0.5);
}

TEST(WordErrorRate, EmptyHypothesisCountsEveryReferenceWord) {
  auto r = word_error_rate({""}, {"one two three"});
  EXPECT_EQ(r.errors, 3);
  EXPECT_DOUBLE_EQ(r.rate(), 1.0);
  auto ins = word_error_rate({"a b"}, {""});
  EXPECT_EQ(ins.errors, 2);
  EXPECT_EQ(ins.reference_length, 0);
}

TEST(WordErrorRate, IsCorpusLevelNotAnAverageOfUtterances) {
  // Utterance rates 1/1 and 0/9 average to 0.5; NeMo's corpus rate is 1/10.
  auto r = word_error_rate({"b", "a b c d e f g h i"}, {"a", "a b c d e f g h i"});
  EXPECT_EQ(r.errors, 1);
  EXPECT_EQ(r.reference_length, 10);
  EXPECT_DOUBLE_EQ(r.rate(), 0.1);
}

TEST(WordErrorRate, WhitespaceRunsDoNotCountButCaseAndPunctuationDo) {
  EXPECT_EQ(word_error_rate({"  the   cat\t"}, {"the cat"}).errors, 0);
  EXPECT_EQ(word_error_rate({"The cat."}, {"the cat"}).errors, 2);
}

TEST(CharErrorRate, CountsCodePointsIncludingSpaces) {
  // NeMo: list(h) vs list(r). "ab c" vs "abc": one deletion of the space; ref length 3.
  auto r = word_error_rate({"ab c"}, {"abc"}, true);
  EXPECT_EQ(r.errors, 1);
  EXPECT_EQ(r.reference_length, 3);
  // A multi-byte character is one character: "café" vs "cafe" is one substitution of 4.
  auto u = word_error_rate({"caf\u00e9"}, {"cafe"}, true);
  EXPECT_EQ(u.errors, 1);
  EXPECT_EQ(u.reference_length, 4);
  // Spaces are not collapsed: "a  b" vs "a b" is one insertion.
  EXPECT_EQ(word_error_rate({"a  b"}, {"a b"}, true).errors, 1);
  // Corpus level: (1 + 2) / (3 + 2).
  auto c = word_error_rate({"abd", ""}, {"abc", "xy"}, true);
  EXPECT_EQ(c.errors, 3);
  EXPECT_EQ(c.reference_length, 5);
  EXPECT_DOUBLE_EQ(c.rate(), 0.6);
}

TEST(WordErrorRate, MismatchedListsAreAnError) {
  EXPECT_THROW(word_error_rate({"a"}, {"a", "b"}), asr::Error);
}

}  // namespace
