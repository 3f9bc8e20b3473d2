#pragma once
// Padding masks shared by the subsampling and the encoder (true = padding, as NeMo's pad_mask).
#include <cstdint>
#include <vector>

#include "asr/core/tensor.h"

namespace asr::models::detail {

// True when some utterance is shorter than `t` (otherwise every mask would be all false and
// the masking steps are skipped: the results are the same).
bool has_padding(const std::vector<int64_t>& lengths, int64_t t);

// Bool [B, T]: mask[b, t] = t >= lengths[b].
Tensor pad_mask(const std::vector<int64_t>& lengths, int64_t t, Device device);

// Bool [B, T, T]: true where the query or the key is padding, or (limited context) where the key
// lies outside [i - left, i + right] (a negative bound is unlimited).
Tensor attention_mask(const std::vector<int64_t>& lengths, int64_t t, int64_t left, int64_t right,
                      Device device);

// Lengths tensor ([B] I64/I32) -> values, checked to lie in [0, max_len].
std::vector<int64_t> lengths_vector(const Tensor& lengths, int64_t batch, int64_t max_len,
                                    const char* op);

}  // namespace asr::models::detail
