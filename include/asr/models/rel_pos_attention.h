#pragma once
// NeMo's RelPositionMultiHeadAttention (Transformer-XL style relative attention):
// scores = ((q + u) k^T + rel_shift((q + v) p^T)[..., :T]) / sqrt(d_k), masked softmax, @ v.
#include <memory>

#include "asr/models/layers.h"
#include "asr/nn/module.h"

namespace asr::models {

// x [.., T, 2T-1] -> [.., T, T] with out[i, j] = x[i, T-1-i+j], i.e. NeMo's rel_shift (pad one
// zero column, view [.., 2T, T], drop the first row, view [.., T, 2T-1]) followed by [..., :T].
// Column T-1-i+j holds relative position i-j. Zero-copy strided view; differentiable.
Tensor rel_shift(const Tensor& x);

class RelPositionMultiHeadAttention : public nn::Module {
 public:
  RelPositionMultiHeadAttention(int64_t n_heads, int64_t d_model, double dropout_att, bool use_bias,
                                Generator& init, GeneratorPtr dropout_gen);
  // x [B, T, d], pos_emb [1, 2T-1, d], att_mask Bool [B, T, T] (true = masked) or undefined
  // (nothing masked) -> [B, T, d].
  Tensor forward(const Tensor& x, const Tensor& pos_emb, const Tensor& att_mask) const;

  int64_t heads() const { return h_; }
  int64_t d_k() const { return d_k_; }

 private:
  int64_t h_, d_k_;
  double dropout_;
  GeneratorPtr gen_;
  std::shared_ptr<nn::Linear> linear_q_, linear_k_, linear_v_, linear_out_, linear_pos_;
  Tensor pos_bias_u_, pos_bias_v_;
};

}  // namespace asr::models
