#pragma once
// The model's SentencePiece tokenizer (libsentencepiece), loaded from the checkpoint's bytes.
#include <memory>
#include <string>
#include <vector>

namespace asr::text {

class Tokenizer {
 public:
  // `source` names the file it came from, for error messages.
  static Tokenizer from_sentencepiece(const std::string& model_bytes, const std::string& source);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  std::vector<int64_t> encode(const std::string& text) const;
  // NeMo's detokenisation: pieces -> SentencePiece decode, then whitespace before "supported
  // punctuation" (Unicode P* characters found in the vocabulary) removed.
  std::string decode(const std::vector<int64_t>& ids) const;
  int64_t vocab_size() const;  // V (without the CTC blank)
  std::string piece(int64_t id) const;
  float score(int64_t id) const;
  // The tokenizer files NeMo's create_spt_model writes beside the model: tokenizer.vocab
  // ("piece<TAB>score" per line) and vocab.txt (special pieces skipped; "▁x" -> "x", "x" -> "##x").
  std::string spe_vocab_file() const;
  std::string nemo_vocab_txt() const;
  int64_t unk_id() const;
  // The "supported punctuation" decode() attaches to the preceding word, sorted (code points).
  const std::u32string& supported_punctuation() const;

 private:
  Tokenizer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace asr::text
