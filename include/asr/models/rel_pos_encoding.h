#pragma once
// NeMo's RelPositionalEncoding: x * sqrt(d_model) (if xscaling) then dropout, and the sinusoid
// table for relative positions T-1, T-2, ..., -(T-1) (not a state-dict entry: computed per call).
#include <utility>

#include "asr/models/layers.h"
#include "asr/nn/module.h"

namespace asr::models {

// [1, 2T-1, d]: row r is position p = T-1-r; pe[2i] = sin(p * w_i), pe[2i+1] = cos(p * w_i),
// w_i = exp(-2i ln(10000) / d), evaluated in float32 as NeMo does, then converted to `dtype`.
Tensor relative_position_table(int64_t t, int64_t d_model, DType dtype = DType::F32,
                               Device device = Device::cpu());

class RelPositionalEncoding : public nn::Module {
 public:
  RelPositionalEncoding(int64_t d_model, bool xscaling, double dropout, double dropout_emb,
                        GeneratorPtr gen);
  // x [B, T, d] -> (dropout(x * xscale), pos_emb [1, 2T-1, d]).
  std::pair<Tensor, Tensor> forward(const Tensor& x) const;

 private:
  int64_t d_model_;
  bool xscaling_;
  double dropout_, dropout_emb_;
  GeneratorPtr gen_;
};

}  // namespace asr::models
