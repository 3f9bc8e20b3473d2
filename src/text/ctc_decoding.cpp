// Greedy CTC decoding (NeMo GreedyBatchedCTCInfer + AbstractCTCDecoding.decode_hypothesis) and
// corpus-level WER/CER (NeMo metrics/wer.py::word_error_rate).
#include "asr/text/ctc_decoding.h"

#include <algorithm>
#include <cmath>

#include "asr/core/error.h"
#include "asr/text/unicode.h"

namespace asr::text {

std::vector<std::vector<int64_t>> ctc_greedy_decode(const Tensor& log_probs, const Tensor& lengths,
                                                    int64_t blank) {
  ASR_CHECK(log_probs.defined() && log_probs.dim() == 3, "ctc_greedy_decode",
            "log_probs must be [B, T, V+1], got ", log_probs.defined() ? log_probs.describe() : "undefined");
  const int64_t B = log_probs.size(0), T = log_probs.size(1), C = log_probs.size(2);
  ASR_CHECK(lengths.defined() && lengths.dim() == 1 && lengths.size(0) == B && is_integral(lengths.dtype()),
            "ctc_greedy_decode", "lengths must be an integer [", B, "] tensor, got ",
            lengths.defined() ? lengths.describe() : "undefined");
  ASR_CHECK(blank >= 0 && blank < C, "ctc_greedy_decode", "blank ", blank, " is outside [0, ", C, ")");
  const Tensor lp = log_probs.to(Device::cpu()).to(DType::F32).contiguous();
  const std::vector<double> lens = lengths.to(Device::cpu()).to_vector();
  const float* data = lp.data<float>();

  std::vector<std::vector<int64_t>> out(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = static_cast<int64_t>(lens[b]);
    ASR_CHECK(len >= 0 && len <= T, "ctc_greedy_decode", "length ", len, " of utterance ", b,
              " is outside [0, ", T, "]");
    int64_t prev = blank;
    for (int64_t t = 0; t < len; ++t) {
      // torch.max(dim=-1): the first maximum wins, and NaN counts as the maximum.
      const float* row = data + (b * T + t) * C;
      int64_t best = 0;
      for (int64_t c = 1; c < C && !std::isnan(row[best]); ++c)
        if (row[c] > row[best] || std::isnan(row[c])) best = c;
      if (best != blank && (best != prev || prev == blank)) out[b].push_back(best);
      prev = best;
    }
  }
  return out;
}

namespace {

template <typename T>
int64_t levenshtein(const std::vector<T>& a, const std::vector<T>& b) {
  std::vector<int64_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int64_t diag = row[0];
    row[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int64_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

int64_t edit_distance(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  return levenshtein(a, b);
}

ErrorRate word_error_rate(const std::vector<std::string>& hypotheses,
                          const std::vector<std::string>& references, bool use_cer) {
  ASR_CHECK(hypotheses.size() == references.size(), "word_error_rate", "got ", hypotheses.size(),
            " hypotheses but ", references.size(), " references");
  ErrorRate r;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    if (use_cer) {
      // NeMo: list(h) — every code point, spaces included, nothing normalised.
      const std::vector<char32_t> h = utf8_decode(hypotheses[i]), ref = utf8_decode(references[i]);
      r.errors += levenshtein(h, ref);
      r.reference_length += static_cast<int64_t>(ref.size());
    } else {
      const std::vector<std::string> h = split_words(hypotheses[i]), ref = split_words(references[i]);
      r.errors += levenshtein(h, ref);
      r.reference_length += static_cast<int64_t>(ref.size());
    }
  }
  return r;
}

}  // namespace asr::text
