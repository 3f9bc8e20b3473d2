#include "masks.h"

#include "asr/core/error.h"

namespace asr::models::detail {

bool has_padding(const std::vector<int64_t>& lengths, int64_t t) {
  for (int64_t l : lengths)
    if (l < t) return true;
  return false;
}

Tensor pad_mask(const std::vector<int64_t>& lengths, int64_t t, Device device) {
  const int64_t b = static_cast<int64_t>(lengths.size());
  Tensor out = Tensor::empty({b, t}, DType::Bool);
  auto* m = out.data<uint8_t>();
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < t; ++j) m[i * t + j] = j >= lengths[i];
  return device.is_cpu() ? out : out.to(device);
}

Tensor attention_mask(const std::vector<int64_t>& lengths, int64_t t, int64_t left, int64_t right,
                      Device device) {
  const int64_t b = static_cast<int64_t>(lengths.size());
  Tensor out = Tensor::empty({b, t, t}, DType::Bool);
  auto* m = out.data<uint8_t>();
  for (int64_t n = 0; n < b; ++n)
    for (int64_t i = 0; i < t; ++i)
      for (int64_t j = 0; j < t; ++j) {
        const bool pad = i >= lengths[n] || j >= lengths[n];
        const bool outside = (left >= 0 && j < i - left) || (right >= 0 && j > i + right);
        m[(n * t + i) * t + j] = pad || outside;
      }
  return device.is_cpu() ? out : out.to(device);
}

std::vector<int64_t> lengths_vector(const Tensor& lengths, int64_t batch, int64_t max_len,
                                    const char* op) {
  ASR_CHECK(lengths.defined() && lengths.dim() == 1 && lengths.size(0) == batch &&
                is_integral(lengths.dtype()) && lengths.dtype() != DType::Bool,
            op, "lengths must be an integer [", batch, "] tensor, got ",
            lengths.defined() ? lengths.describe() : std::string("undefined"));
  std::vector<int64_t> out;
  for (double v : lengths.to_vector()) {
    const auto l = static_cast<int64_t>(v);
    ASR_CHECK(l >= 0 && l <= max_len, op, "length ", l, " outside [0, ", max_len, "]");
    out.push_back(l);
  }
  return out;
}

}  // namespace asr::models::detail
