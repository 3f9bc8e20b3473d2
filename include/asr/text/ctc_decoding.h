#pragma once
// Greedy CTC decoding with NeMo's collapse rule, and corpus-level WER/CER as NeMo computes them.
#include <string>
#include <vector>

#include "asr/core/tensor.h"

namespace asr::text {

// log_probs [B, T, V+1], lengths [B] I64 -> token ids per utterance: argmax per frame over the
// first lengths[b] frames; emit p if p != blank and (p != prev or prev == blank); prev = p.
std::vector<std::vector<int64_t>> ctc_greedy_decode(const Tensor& log_probs, const Tensor& lengths,
                                                    int64_t blank);

// Levenshtein distance between two token sequences (unit costs).
int64_t edit_distance(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

struct ErrorRate {
  int64_t errors = 0;
  int64_t reference_length = 0;  // words (or characters for CER)
  double rate() const { return reference_length ? static_cast<double>(errors) / reference_length : 0.0; }
};

// Σ editdistance(hyp.split(), ref.split()) / Σ len(ref.split()); use_cer: over characters.
ErrorRate word_error_rate(const std::vector<std::string>& hypotheses,
                          const std::vector<std::string>& references, bool use_cer = false);

}  // namespace asr::text
