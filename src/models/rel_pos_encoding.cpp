#include "asr/models/rel_pos_encoding.h"

#include <cmath>
#include <vector>

#include "asr/ops/ops.h"

namespace asr::models {

Tensor relative_position_table(int64_t t, int64_t d_model, DType dtype, Device device) {
  ASR_CHECK(t >= 1 && d_model >= 2 && d_model % 2 == 0, "relative_position_table",
            "needs T >= 1 and an even d_model, got T ", t, ", d_model ", d_model);
  const int64_t rows = 2 * t - 1, half = d_model / 2;
  // NeMo: div_term = exp(arange(0, d, 2) * -(ln(10000) / d)) and positions * div_term, all in
  // float32; sin/cos of the float32 argument.
  const auto coef = static_cast<float>(-(std::log(10000.0) / static_cast<double>(d_model)));
  std::vector<float> div(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i)
    div[i] = static_cast<float>(std::exp(static_cast<double>(static_cast<float>(2 * i) * coef)));
  std::vector<float> pe(static_cast<size_t>(rows * d_model));
  for (int64_t r = 0; r < rows; ++r) {
    const auto p = static_cast<float>(t - 1 - r);
    for (int64_t i = 0; i < half; ++i) {
      const double arg = static_cast<double>(p * div[i]);
      pe[r * d_model + 2 * i] = static_cast<float>(std::sin(arg));
      pe[r * d_model + 2 * i + 1] = static_cast<float>(std::cos(arg));
    }
  }
  Tensor out = Tensor::from_vector(pe, {1, rows, d_model});
  if (dtype != DType::F32) out = out.to(dtype);
  return device.is_cpu() ? out : out.to(device);
}

RelPositionalEncoding::RelPositionalEncoding(int64_t d_model, bool xscaling, double dropout,
                                             double dropout_emb, GeneratorPtr gen)
    : d_model_(d_model), xscaling_(xscaling), dropout_(dropout), dropout_emb_(dropout_emb),
      gen_(std::move(gen)) {}

std::pair<Tensor, Tensor> RelPositionalEncoding::forward(const Tensor& x) const {
  ASR_CHECK(x.dim() == 3 && x.size(2) == d_model_, "RelPositionalEncoding", "expects [B, T, ",
            d_model_, "], got ", x.describe());
  Tensor h = xscaling_ ? ops::scale(x, std::sqrt(static_cast<double>(d_model_))) : x;
  Tensor pos = relative_position_table(x.size(1), d_model_, x.dtype(), x.device());
  const bool training = is_training();
  if (dropout_emb_ > 0) pos = ops::dropout(pos, dropout_emb_, training, *gen_);
  return {ops::dropout(h, dropout_, training, *gen_), pos};
}

}  // namespace asr::models
