// The SentencePiece tokenizer and NeMo's detokenisation rule, on a tiny model trained here.
#include <gtest/gtest.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <iostream>
#include <sstream>
#include <unordered_map>

#include "asr/core/error.h"
#include "asr/text/tokenizer.h"
#include "asr/text/unicode.h"

namespace {

using asr::text::Tokenizer;

// Feeds the trainer sentences from memory (no files).
class Sentences : public sentencepiece::SentenceIterator {
 public:
  explicit Sentences(std::vector<std::string> s) : s_(std::move(s)) {}
  bool done() const override { return i_ >= s_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return s_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  std::vector<std::string> s_;
  size_t i_ = 0;
};

// A BPE model like NeMo's (no bos/eos; <unk> = 0) over text with punctuation; with character
// coverage 1.0 every character (".", ",", "?", "'", "▁") is also a piece of its own.
const std::string& tiny_model() {
  static const std::string model = [] {
    std::vector<std::string> text;
    for (int i = 0; i < 20; ++i) {
      text.push_back("the cat sat on the mat. the dog sat, too.");
      text.push_back("is it raining today? yes it is raining.");
      text.push_back("don't open the red door, please.");
    }
    Sentences it(text);
    std::string proto;
    std::unordered_map<std::string, std::string> args = {
        {"model_type", "bpe"}, {"vocab_size", "40"}, {"bos_id", "-1"}, {"eos_id", "-1"},
        {"character_coverage", "1.0"}, {"hard_vocab_limit", "false"}};
    // The trainer logs every step to std::cerr; keep the test output readable.
    std::ostringstream quiet;
    std::streambuf* old = std::cerr.rdbuf(quiet.rdbuf());
    auto st = sentencepiece::SentencePieceTrainer::Train(args, &it, &proto);
    std::cerr.rdbuf(old);
    if (!st.ok()) throw std::runtime_error("sentencepiece training failed: " + st.ToString());
    return proto;
  }();
  return model;
}

int64_t id_of(const Tokenizer& t, const std::string& piece) {
  for (int64_t i = 0; i < t.vocab_size(); ++i)
    if (t.piece(i) == piece) return i;
  ADD_FAILURE() << "no piece '" << piece << "'";
  return 0;
}

TEST(Tokenizer, EncodeDecodeRoundTrips) {
  Tokenizer t = Tokenizer::from_sentencepiece(tiny_model(), "tiny.model");
  EXPECT_GT(t.vocab_size(), 10);
  EXPECT_EQ(t.unk_id(), 0);
  EXPECT_EQ(t.piece(0), "<unk>");
  for (std::string s : {"the cat sat on the mat.", "don't open the door, please.", "is it raining?"}) {
    std::vector<int64_t> ids = t.encode(s);
    EXPECT_FALSE(ids.empty());
    EXPECT_EQ(t.decode(ids), s);
  }
  EXPECT_EQ(t.decode({}), "");
}

TEST(Tokenizer, SupportedPunctuationComesFromNonSpecialPieces) {
  Tokenizer t = Tokenizer::from_sentencepiece(tiny_model(), "tiny.model");
  // "." and "," are pieces; "'" and "?" occur only inside pieces too, if the trainer kept them
  // as characters (character_coverage 1.0 does); "<unk>" has < > but is special.
  const std::u32string& p = t.supported_punctuation();
  EXPECT_NE(p.find(U'.'), std::u32string::npos);
  EXPECT_NE(p.find(U','), std::u32string::npos);
  EXPECT_NE(p.find(U'?'), std::u32string::npos);
  EXPECT_EQ(p.find(U'<'), std::u32string::npos);
  EXPECT_EQ(p.find(U'>'), std::u32string::npos);
  EXPECT_TRUE(std::is_sorted(p.begin(), p.end()));
}

TEST(Tokenizer, DecodeRemovesOneSpaceBeforeSupportedPunctuation) {
  Tokenizer t = Tokenizer::from_sentencepiece(tiny_model(), "tiny.model");
  // "▁the" "." as separate words: SentencePiece gives "the ." only if "." carries the word
  // marker; build the spaced form from pieces that start words.
  const int64_t the = id_of(t, "\u2581the"), dot = id_of(t, "."), comma = id_of(t, ",");
  const int64_t space = id_of(t, "\u2581");
  // "▁the ▁ . ▁ ," decodes to "the . ," before the fix-up; NeMo removes the space before each.
  EXPECT_EQ(t.decode({the, space, dot, space, comma}), "the.,");
  // Two spaces: only the one directly before the mark goes.
  EXPECT_EQ(t.decode({the, space, space, dot}), "the .");
  // A space at the start before punctuation is also removed (NeMo's regex does not anchor).
  EXPECT_EQ(t.decode({space, space, dot}), ".");
}

TEST(Tokenizer, UnknownIdDecodesLikeSentencePiece) {
  Tokenizer t = Tokenizer::from_sentencepiece(tiny_model(), "tiny.model");
  const int64_t the = id_of(t, "\u2581the");
  // SentencePiece renders <unk> as " ⁇ " (U+2047) and the next word adds its own space; NeMo
  // keeps both (its fixtures show "river ⁇ k" and "the ⁇  the" alike).
  EXPECT_EQ(t.decode({the, 0, the}), "the \u2047  the");
}

TEST(Tokenizer, ErrorsNameTheSource) {
  try {
    Tokenizer::from_sentencepiece("definitely not a protobuf", "model.nemo");
    FAIL() << "no error";
  } catch (const asr::Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.nemo: tokenizer"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Tokenizer::from_sentencepiece("", "model.nemo"), asr::Error);
  Tokenizer t = Tokenizer::from_sentencepiece(tiny_model(), "tiny.model");
  try {
    t.decode({1, t.vocab_size()});
    FAIL() << "no error";
  } catch (const asr::Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside the vocabulary"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t.piece(-1), asr::Error);
}

TEST(Unicode, PunctuationMatchesPythonCategories) {
  using asr::text::is_punctuation;
  for (char32_t c : std::u32string(U"!\"#%&'()*,-./:;?@[\\]_{}\u00a1\u00a7\u00ab\u00bb\u00bf\u2014\u2019\u201c\u3001\u3002\uff01\uff0c"))
    EXPECT_TRUE(is_punctuation(c)) << std::hex << static_cast<uint32_t>(c);
  // Symbols (S*), letters, digits, spaces are not P*.
  for (char32_t c : std::u32string(U"$+<=>^`|~ aZ09\u00a2\u00b0\u2044\u2581\u20ac\uff04"))
    EXPECT_FALSE(is_punctuation(c)) << std::hex << static_cast<uint32_t>(c);
}

TEST(Unicode, SplitWordsFollowsPythonStrSplit) {
  using asr::text::split_words;
  EXPECT_EQ(split_words("  a b\t\tc\n"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(split_words("").empty());
  EXPECT_TRUE(split_words(" \u3000 ").empty());
  // U+00A0 (no-break space) and U+2003 split in Python 3; U+200B (zero-width space) does not.
  EXPECT_EQ(split_words("x\u00a0y\u2003z\u200bw"), (std::vector<std::string>{"x", "y", "z\u200bw"}));
}

TEST(Unicode, DecodeIsTolerantOfBadBytes) {
  using asr::text::utf8_decode;
  EXPECT_EQ(utf8_decode("a\u00e9\u2047\U0001F600"), (std::vector<char32_t>{U'a', 0xE9, 0x2047, 0x1F600}));
  EXPECT_EQ(utf8_decode(std::string("a\xff") + "b"), (std::vector<char32_t>{U'a', 0xFFFD, U'b'}));
  EXPECT_EQ(utf8_decode(std::string("\xc3")), (std::vector<char32_t>{0xFFFD}));       // truncated
  EXPECT_EQ(utf8_decode(std::string("\xc0\xaf")), (std::vector<char32_t>{0xFFFD, 0xFFFD}));  // overlong
}

}  // namespace
