// SentencePiece tokenizer with NeMo's CTC detokenisation (ctc_decoding.py:
// decode_tokens_to_str_with_strip_punctuation, tokenizer_utils.py: extract_punctuation_from_vocab).
#include "asr/text/tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstdio>

#include "asr/core/error.h"
#include "asr/text/unicode.h"

namespace asr::text {

struct Tokenizer::Impl {
  sentencepiece::SentencePieceProcessor sp;
  std::string source;
  std::u32string punctuation;  // sorted, unique
};

namespace {

// NeMo's special-token patterns: ^\[.*\]$, ^<.*>$, ^##, ^▁, ^\s*$ ('.' stops at a newline).
bool is_special_piece(const std::string& piece) {
  const std::vector<char32_t> cps = utf8_decode(piece);
  if (std::all_of(cps.begin(), cps.end(), is_space)) return true;
  auto enclosed = [&](char32_t open, char32_t close) {
    return cps.size() >= 2 && cps.front() == open && cps.back() == close &&
           std::find(cps.begin(), cps.end(), U'\n') == cps.end();
  };
  if (enclosed(U'[', U']') || enclosed(U'<', U'>')) return true;
  if (cps.size() >= 2 && cps[0] == U'#' && cps[1] == U'#') return true;
  return cps.front() == U'\u2581';  // SentencePiece's word-start marker
}

}  // namespace

Tokenizer::Tokenizer() : impl_(std::make_unique<Impl>()) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_sentencepiece(const std::string& model_bytes, const std::string& source) {
  Tokenizer t;
  t.impl_->source = source;
  if (model_bytes.empty()) throw Error(str_cat(source, ": tokenizer: the SentencePiece model is empty"));
  auto status = t.impl_->sp.LoadFromSerializedProto(model_bytes);
  if (!status.ok())
    throw Error(str_cat(source, ": tokenizer: not a valid SentencePiece model (", status.ToString(), ")"));
  std::u32string punct;
  for (int i = 0; i < t.impl_->sp.GetPieceSize(); ++i) {
    const std::string& piece = t.impl_->sp.IdToPiece(i);
    if (is_special_piece(piece)) continue;
    for (char32_t cp : utf8_decode(piece))
      if (is_punctuation(cp)) punct += cp;
  }
  std::sort(punct.begin(), punct.end());
  punct.erase(std::unique(punct.begin(), punct.end()), punct.end());
  t.impl_->punctuation = std::move(punct);
  return t;
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  auto status = impl_->sp.Encode(text, &ids);
  if (!status.ok()) throw Error(str_cat(impl_->source, ": tokenizer: cannot encode text (", status.ToString(), ")"));
  return {ids.begin(), ids.end()};
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  const int64_t v = vocab_size();
  std::vector<int> sp_ids;
  sp_ids.reserve(ids.size());
  for (int64_t id : ids) {
    if (id < 0 || id >= v)
      throw Error(str_cat(impl_->source, ": tokenizer: token id ", id, " is outside the vocabulary [0, ", v, ")"));
    sp_ids.push_back(static_cast<int>(id));
  }
  // NeMo's ids_to_text is decode_ids, the same as decode_pieces of the ids' pieces.
  std::string text;
  auto status = impl_->sp.Decode(sp_ids, &text);
  if (!status.ok()) throw Error(str_cat(impl_->source, ": tokenizer: cannot decode (", status.ToString(), ")"));
  if (impl_->punctuation.empty()) return text;

  // NeMo: re.sub(r'(\s)(p1|p2|...)', r'\2', text): one whitespace character directly before a
  // supported punctuation mark goes; matches do not overlap.
  const std::vector<char32_t> cps = utf8_decode(text);
  auto supported = [&](char32_t c) {
    return std::binary_search(impl_->punctuation.begin(), impl_->punctuation.end(), c);
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < cps.size(); ++i) {
    if (is_space(cps[i]) && i + 1 < cps.size() && supported(cps[i + 1])) {
      out += utf8_encode(cps[i + 1]);
      ++i;
    } else {
      out += utf8_encode(cps[i]);
    }
  }
  return out;
}

int64_t Tokenizer::vocab_size() const { return impl_->sp.GetPieceSize(); }

std::string Tokenizer::piece(int64_t id) const {
  if (id < 0 || id >= vocab_size())
    throw Error(str_cat(impl_->source, ": tokenizer: token id ", id, " is outside the vocabulary [0, ", vocab_size(), ")"));
  return impl_->sp.IdToPiece(static_cast<int>(id));
}

float Tokenizer::score(int64_t id) const {
  piece(id);  // range check
  return impl_->sp.GetScore(static_cast<int>(id));
}

std::string Tokenizer::spe_vocab_file() const {
  std::string out;
  for (int64_t i = 0; i < vocab_size(); ++i) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", static_cast<double>(score(i)));
    out += piece(i) + "\t" + text + "\n";
  }
  return out;
}

std::string Tokenizer::nemo_vocab_txt() const {
  static const std::string kWordStart = "\xe2\x96\x81";  // U+2581, SentencePiece's word boundary
  std::string out;
  for (int64_t i = 0; i < vocab_size(); ++i) {
    const std::string p = piece(i);
    if (p == "<unk>" || p == "<s>" || p == "</s>" || p == "<pad>") continue;
    const bool word_start = p.rfind(kWordStart, 0) == 0;
    const std::string token = word_start ? p.substr(kWordStart.size()) : "##" + p;
    out += (token.empty() ? p : token) + "\n";
  }
  return out;
}

int64_t Tokenizer::unk_id() const { return impl_->sp.unk_id(); }

const std::u32string& Tokenizer::supported_punctuation() const { return impl_->punctuation; }

}  // namespace asr::text
