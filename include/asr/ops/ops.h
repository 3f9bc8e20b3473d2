#pragma once
// The differentiable op set (flashlight-style free functions). Each op checks shapes, dtypes and
// devices once (errors name the op and the shapes), runs the backend kernel, and records its
// backward when an input requires grad.
#include <cstdint>
#include <optional>
#include <vector>

#include "asr/core/generator.h"
#include "asr/core/tensor.h"

namespace asr::ops {

// ---- elementwise (broadcasting) ------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, double alpha);           // alpha * x
Tensor add_scalar(const Tensor& x, double beta);       // x + beta
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor silu(const Tensor& x);  // swish: x * sigmoid(x)
// silu(x + bias) over the last dim (bias [n]) in one pass: a Linear without its bias, then this,
// is the Linear + activation of the Conformer feed-forward. Differentiable in x and bias.
Tensor bias_silu(const Tensor& x, const Tensor& bias);
Tensor gelu(const Tensor& x);  // exact (erf) form, as torch.nn.GELU()
Tensor glu(const Tensor& x, int64_t dim);  // a * sigmoid(b), a|b = halves of x along dim
// glu over the last dim with rows zeroed where row_mask (bool, x's shape without the last dim;
// may be undefined) is set: masked_fill(glu(x, -1), row_mask.unsqueeze(-1), 0) in one fused pass.
Tensor masked_glu(const Tensor& x, const Tensor& row_mask);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);  // cond: Bool
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);  // mask: Bool, broadcast

// ---- reductions ----------------------------------------------------------------------------
Tensor sum(const Tensor& x);  // all elements -> scalar [ ] (rank 0)
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);

// ---- linear algebra ------------------------------------------------------------------------
// [.., M, K] @ [.., K, N] with broadcast batch dims (rank >= 2 each, or 1-D operands as torch).
Tensor matmul(const Tensor& a, const Tensor& b);
// x [.., in] @ weight[out, in]^T + bias[out]. A frozen weight (requires_grad false) costs no dW
// GEMM and no saved input.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- softmax / normalisation ---------------------------------------------------------------
Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);
// Relative-position self-attention weights, fused (Backend::rel_pos_softmax): ac [B, H, T, T] =
// (q+u) k^T, bd [B, H, T, 2T-1] = (q+v) p^T before its rel_shift, att_mask [B, T, T] bool (true =
// masked; may be undefined). Equals masked_fill(softmax(masked_fill((ac + rel_shift(bd)) * scale,
// m, -10000)), m, 0) with m = att_mask broadcast over heads; differentiable in ac and bd.
Tensor rel_pos_softmax(const Tensor& ac, const Tensor& bd, const Tensor& att_mask, double scale);
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);
// x [N, C] or [N, C, L]. training=true uses batch stats and updates running stats in place.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                  Tensor running_mean, Tensor running_var, bool training,
                  double momentum = 0.1, double eps = 1e-5);
// Inverted dropout; identity when !training or p == 0. Reproducible from the generator state.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);

// ---- convolution ---------------------------------------------------------------------------
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              int64_t stride = 1, int64_t padding = 0, int64_t groups = 1);
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              int64_t stride = 1, int64_t padding = 0, int64_t groups = 1);

// ---- shape ---------------------------------------------------------------------------------
// Constant padding; `pads` lists (before, after) pairs starting from the LAST dim, as torch's
// F.pad. Negative pads crop.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0.0);
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);

// ---- indexing ------------------------------------------------------------------------------
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);  // index: I64/I32 [k]
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);        // torch.gather

// ---- CTC -----------------------------------------------------------------------------------
enum class CtcReduction { None, MeanBatch, MeanVolume, Sum };
// log_probs [B, T, V] (normalised log-probabilities, e.g. log_softmax output); targets [B, S]
// (I64, padded); input_lengths, target_lengths [B] (I64). None -> [B]; MeanBatch -> mean over
// utterances (NeMo's mean_batch); MeanVolume -> sum / total target length (NeMo's mean_volume).
// zero_infinity: infeasible utterances contribute 0 loss and 0 gradient.
Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, int64_t blank, CtcReduction reduction,
                bool zero_infinity);

}  // namespace asr::ops

namespace asr {
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, double s);
Tensor operator*(double s, const Tensor& a);
Tensor operator-(const Tensor& a);
}  // namespace asr
