#include "asr/models/rel_pos_attention.h"

#include <cmath>

#include "asr/autograd/node.h"
#include "asr/ops/ops.h"

namespace asr::models {

Tensor rel_shift(const Tensor& x_in) {
  ASR_CHECK(x_in.dim() >= 2 && x_in.size(-1) == 2 * x_in.size(-2) - 1, "rel_shift",
            "expects [.., T, 2T-1], got ", x_in.describe());
  const Tensor x = x_in.contiguous();
  const int64_t nd = x.dim(), t = x.size(-2), p = x.size(-1);
  // Element (i, j) sits at flat offset i * (2T-1) + (T-1-i+j) = (T-1) + i * (2T-2) + j.
  Shape shape = x.shape(), strides = x.strides();
  shape[nd - 1] = t;
  strides[nd - 2] = p - 1;
  Tensor out = make_view(x.detach(), shape, strides, x.offset() + t - 1);
  if (!autograd::any_requires_grad({&x})) return out;
  const Shape in_shape = x.shape();
  return autograd::record_fn(out, "rel_shift", {&x},
                             [in_shape, shape, strides, t](const Tensor& g, const autograd::Node&) {
    Tensor gx = Tensor::zeros(in_shape, g.dtype(), g.device());
    Tensor dst = make_view(gx, shape, strides, gx.offset() + t - 1);
    dst.copy_(g);
    return std::vector<Tensor>{gx};
  });
}

RelPositionMultiHeadAttention::RelPositionMultiHeadAttention(int64_t n_heads, int64_t d_model,
                                                             double dropout_att, bool use_bias,
                                                             Generator& init, GeneratorPtr dropout_gen)
    : h_(n_heads), d_k_(0), dropout_(dropout_att), gen_(std::move(dropout_gen)) {
  ASR_CHECK(n_heads >= 1 && d_model % n_heads == 0, "RelPositionMultiHeadAttention", "d_model ",
            d_model, " is not divisible by n_heads ", n_heads);
  d_k_ = d_model / n_heads;
  linear_q_ = register_module("linear_q", std::make_shared<nn::Linear>(d_model, d_model, use_bias, init));
  linear_k_ = register_module("linear_k", std::make_shared<nn::Linear>(d_model, d_model, use_bias, init));
  linear_v_ = register_module("linear_v", std::make_shared<nn::Linear>(d_model, d_model, use_bias, init));
  linear_out_ = register_module("linear_out", std::make_shared<nn::Linear>(d_model, d_model, use_bias, init));
  linear_pos_ = register_module("linear_pos", std::make_shared<nn::Linear>(d_model, d_model, false, init));
  // NeMo initialises the Transformer-XL biases to zero.
  pos_bias_u_ = register_parameter("pos_bias_u", Tensor::zeros({n_heads, d_k_}));
  pos_bias_v_ = register_parameter("pos_bias_v", Tensor::zeros({n_heads, d_k_}));
}

Tensor RelPositionMultiHeadAttention::forward(const Tensor& x, const Tensor& pos_emb,
                                              const Tensor& att_mask) const {
  ASR_CHECK(x.dim() == 3 && x.size(2) == h_ * d_k_, "RelPositionMultiHeadAttention",
            "expects x [B, T, ", h_ * d_k_, "], got ", x.describe());
  const int64_t b = x.size(0), t = x.size(1), d = h_ * d_k_;
  ASR_CHECK(pos_emb.dim() == 3 && pos_emb.size(0) == 1 && pos_emb.size(1) == 2 * t - 1 &&
                pos_emb.size(2) == d,
            "RelPositionMultiHeadAttention", "pos_emb must be [1, ", 2 * t - 1, ", ", d, "], got ",
            pos_emb.describe());
  // [B, T, d] -> [B, H, T, d_k] views; the bias adds below materialise q contiguously as
  // [B, H, T, d_k] so the score GEMMs need no further copy of q.
  auto heads = [&](const Tensor& y, int64_t rows) {
    return y.view({y.size(0), rows, h_, d_k_}).permute({0, 2, 1, 3});
  };
  Tensor q = heads(linear_q_->forward(x), t);
  // k made contiguous as [B, H, T, d_k] (rows of d_k copied whole): k^T is then a plain transpose
  // the GEMM reads with its transpose flag, instead of an element-wise gathered copy.
  Tensor k = heads(linear_k_->forward(x), t).contiguous();
  Tensor v = heads(linear_v_->forward(x), t);
  Tensor p = heads(linear_pos_->forward(pos_emb), 2 * t - 1);  // [1, H, 2T-1, d_k]
  Tensor q_u = ops::add(q, pos_bias_u_.view({1, h_, 1, d_k_}));
  Tensor q_v = ops::add(q, pos_bias_v_.view({1, h_, 1, d_k_}));
  Tensor ac = ops::matmul(q_u, k.transpose(-2, -1));          // [B, H, T, T]
  Tensor bd = ops::matmul(q_v, p.transpose(-2, -1));          // [B, H, T, 2T-1], before rel_shift
  if (att_mask.defined())
    ASR_CHECK(att_mask.dtype() == DType::Bool && att_mask.dim() == 3 && att_mask.size(0) == b &&
                  att_mask.size(1) == t && att_mask.size(2) == t,
              "RelPositionMultiHeadAttention", "att_mask must be bool [", b, ", ", t, ", ", t,
              "], got ", att_mask.describe());
  // NeMo: scores = (ac + rel_shift(bd)) / sqrt(d_k); masked_fill(-10000) -> softmax ->
  // masked_fill(0) (fully masked rows become 0). One fused pass over the [B, H, T, T] rows.
  Tensor attn = ops::rel_pos_softmax(ac, bd, att_mask, 1.0 / std::sqrt(static_cast<double>(d_k_)));
  attn = ops::dropout(attn, dropout_, is_training(), *gen_);
  Tensor ctx = ops::matmul(attn, v);  // [B, H, T, d_k]
  return linear_out_->forward(ctx.transpose(1, 2).reshape({b, t, d}));
}

}  // namespace asr::models
