#pragma once
// The kernel interface every backend implements (ggml-style: one small surface, one
// implementation per device). Ops in src/ops/ do the shape/dtype checks once, allocate outputs,
// then call these kernels; kernels may assume the contracts written next to each method.
//
// Common contract unless stated otherwise:
//  - all tensors are on this backend's device and have the same floating dtype (F32 or F64);
//  - inputs named `*_c` and every output are contiguous; outputs are preallocated by the op;
//  - an optional output/input is passed as an undefined Tensor when not needed/present.
#include <cstdint>
#include <string>
#include <vector>

#include "asr/core/allocator.h"
#include "asr/core/tensor.h"

namespace asr {

enum class UnaryOp { Neg, Exp, Log, Sqrt, Abs, Relu, Sigmoid, Tanh, Silu, Gelu };
enum class BinaryOp { Add, Sub, Mul, Div };

// Counters a test or benchmark can read to prove work was (not) done.
struct BackendStats {
  uint64_t gemm_calls = 0;
  uint64_t gemm_flops = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual Allocator& allocator() = 0;
  BackendStats& stats() { return stats_; }

  // ---- memory -----------------------------------------------------------------------------
  // dst (any strides, same shape) <- src (any strides, same shape, any dtype: converted).
  // Both on this device. Used by contiguous(), to(dtype), pad, concat, narrow-backward.
  virtual void copy(const Tensor& src, Tensor& dst) = 0;
  virtual void fill(Tensor& dst, double value) = 0;  // dst any strides
  // Host <-> device transfers (contiguous both sides, same dtype). CPU backend: memcpy.
  virtual void copy_from_host(const void* host, Tensor& dst) = 0;
  virtual void copy_to_host(const Tensor& src, void* host) = 0;

  // ---- elementwise ------------------------------------------------------------------------
  // y = op(x); x any strides with y's shape.
  virtual void unary(UnaryOp op, const Tensor& x, Tensor& y) = 0;
  // gx = dop/dx * gy, using x and/or y = op(x) (whichever is cheaper); all same shape; x, y, gy
  // any strides.
  virtual void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& gy,
                              Tensor& gx) = 0;
  // out = a op b; a and b are already broadcast to out's shape (stride-0 dims allowed).
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) = 0;
  // y = alpha * x + beta (x any strides).
  virtual void affine(const Tensor& x, double alpha, double beta, Tensor& y) = 0;
  // out = cond ? a : b; cond (Bool), a, b broadcast to out's shape (any strides).
  virtual void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) = 0;

  // ---- reductions -------------------------------------------------------------------------
  // out[j] = sum of x over the dims where out.shape[d] == 1 && x.shape[d] != 1. `out` has the
  // same rank as x (keepdim layout); x any strides. Also used to un-broadcast gradients.
  virtual void sum_to(const Tensor& x, Tensor& out) = 0;

  // ---- linear algebra ---------------------------------------------------------------------
  // C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] for b in [0, batch). A, B, C are rank-3
  // [batch, rows, cols] tensors whose last dim has stride 1 (rows may have any stride; batch
  // stride may be 0 to broadcast a matrix). op = transpose when trans_* is set. Dtypes: all f32,
  // all f64, or A and B bf16 with C f32 (mixed precision: f32 accumulation, as cuBLAS' bf16
  // GEMM with CUBLAS_COMPUTE_32F; the CPU widens the operands to f32 first).
  virtual void gemm(bool trans_a, bool trans_b, double alpha, const Tensor& a, const Tensor& b,
                    double beta, Tensor& c) = 0;

  // y = silu(x + bias) over x_c [rows, n] (contiguous) with bias [n]: a Linear's bias and the
  // activation after it in one pass (the Conformer feed-forward). The backward writes
  // gx = gy * silu'(x + bias) from x_c, bias and gy_c.
  virtual void bias_silu(const Tensor& x_c, const Tensor& bias, Tensor& y) = 0;
  virtual void bias_silu_backward(const Tensor& x_c, const Tensor& bias, const Tensor& gy_c, Tensor& gx) = 0;
  // GLU over the last dim of x_c [rows, 2h] (contiguous), fused with a row mask:
  // y[r, j] = x[r, j] * sigmoid(x[r, h + j]), and 0 in rows where row_mask_c (bool [rows],
  // contiguous; may be undefined) is set (the Conformer conv module's GLU + padding mask).
  // The backward writes gx [rows, 2h] (zero in masked rows) from x_c and gy_c [rows, h].
  virtual void glu(const Tensor& x_c, const Tensor& row_mask_c, Tensor& y) = 0;
  virtual void glu_backward(const Tensor& x_c, const Tensor& row_mask_c, const Tensor& gy_c, Tensor& gx) = 0;

  // ---- softmax ----------------------------------------------------------------------------
  // Over the last dim of x_c ([rows, n] viewed). log=true gives log_softmax.
  virtual void softmax(const Tensor& x_c, bool log, Tensor& y) = 0;
  virtual void softmax_backward(const Tensor& y_c, const Tensor& gy_c, bool log, Tensor& gx) = 0;
  // The relative-position attention weights of a Conformer layer in one pass (fused: the scores
  // are never materialised). For each row (b, h, i) of ac_c [B, H, T, T] and bd_c [B, H, T, 2T-1]
  // (contiguous, same dtype): s_j = (ac[b,h,i,j] + bd[b,h,i,T-1-i+j]) * scale (Transformer-XL's
  // rel_shift); where mask_c [B, T, T] (bool, contiguous; may be undefined) is set, s_j = -10000;
  // y = softmax(s), then 0 where masked: NeMo's masked_fill -> softmax -> masked_fill.
  virtual void rel_pos_softmax(const Tensor& ac_c, const Tensor& bd_c, const Tensor& mask_c, double scale,
                               Tensor& y) = 0;

  // ---- normalisation ----------------------------------------------------------------------
  // Over the last dim (size n) of x_c viewed as [rows, n]; weight/bias [n] optional.
  // Saves mean[rows] and rstd[rows] for the backward pass.
  virtual void layer_norm(const Tensor& x_c, const Tensor& weight, const Tensor& bias, double eps,
                          Tensor& y, Tensor& mean, Tensor& rstd) = 0;
  // Any of gx, gweight, gbias may be undefined (not needed: not computed).
  virtual void layer_norm_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& weight,
                                   const Tensor& mean, const Tensor& rstd, Tensor& gx,
                                   Tensor& gweight, Tensor& gbias) = 0;
  // x_c is [N, C, L] (L may be 1). training: batch statistics, saved as mean/invstd [C], and
  // running stats (if defined) updated in place with `momentum` (unbiased var, as PyTorch);
  // inference: running stats used and copied into mean/invstd for the backward pass.
  virtual void batch_norm(const Tensor& x_c, const Tensor& weight, const Tensor& bias,
                          Tensor& running_mean, Tensor& running_var, bool training,
                          double momentum, double eps, Tensor& y, Tensor& mean,
                          Tensor& invstd) = 0;
  virtual void batch_norm_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& weight,
                                   const Tensor& mean, const Tensor& invstd, bool training,
                                   Tensor& gx, Tensor& gweight, Tensor& gbias) = 0;

  // ---- random -----------------------------------------------------------------------------
  // mask[i] = (uniform(seed, counter + i) >= p) ? 1/(1-p) : 0, in mask's dtype.
  virtual void dropout_mask(double p, uint64_t seed, uint64_t counter, Tensor& mask) = 0;

  // ---- convolution ------------------------------------------------------------------------
  // x_c [N, Cin, L], w_c [Cout, Cin/groups, K], bias [Cout] optional -> y [N, Cout, Lout],
  // Lout = (L + 2*pad - K) / stride + 1 (dilation 1).
  // Backward: x_c may be undefined when gw is undefined, and w_c when gx is undefined (the op
  // saves only what is needed); take shapes from gy_c/gx/gw. gx, gw, gbias are overwritten.
  virtual void conv1d(const Tensor& x_c, const Tensor& w_c, const Tensor& bias, int64_t stride,
                      int64_t pad, int64_t groups, Tensor& y) = 0;
  virtual void conv1d_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& w_c,
                               int64_t stride, int64_t pad, int64_t groups, Tensor& gx,
                               Tensor& gw, Tensor& gbias) = 0;
  // x_c [N, Cin, H, W], w_c [Cout, Cin/groups, KH, KW] -> y [N, Cout, Hout, Wout].
  virtual void conv2d(const Tensor& x_c, const Tensor& w_c, const Tensor& bias, int64_t stride,
                      int64_t pad, int64_t groups, Tensor& y) = 0;
  virtual void conv2d_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& w_c,
                               int64_t stride, int64_t pad, int64_t groups, Tensor& gx,
                               Tensor& gw, Tensor& gbias) = 0;

  // ---- indexing ---------------------------------------------------------------------------
  // y = x.index_select(dim, index) for x_c contiguous, index I64 [k] in range (checked by op).
  virtual void index_select(const Tensor& x_c, int64_t dim, const Tensor& index, Tensor& y) = 0;
  // gx (zeroed by caller) += scatter of gy_c rows back to their source positions.
  virtual void index_add(const Tensor& gy_c, int64_t dim, const Tensor& index, Tensor& gx) = 0;
  // torch.gather: y[i..][j][k..] = x[i..][index[i..][j][k..]][k..] along dim; index I64 with
  // y's shape, x_c contiguous.
  virtual void gather(const Tensor& x_c, int64_t dim, const Tensor& index, Tensor& y) = 0;
  // gx (zeroed by caller) scatter-add of gy_c through the same index.
  virtual void scatter_add(const Tensor& gy_c, int64_t dim, const Tensor& index, Tensor& gx) = 0;

  // ---- CTC --------------------------------------------------------------------------------
  // log_probs_c [B, T, V]; targets I64 [B, S]; input_lengths, target_lengths I64 [B] (CPU).
  // Writes the per-utterance negative log-likelihood nll [B] and log_alpha [B, T, 2S+1]
  // (saved for the backward pass). Impossible alignments give +inf.
  virtual void ctc_loss(const Tensor& log_probs_c, const Tensor& targets,
                        const Tensor& input_lengths, const Tensor& target_lengths, int64_t blank,
                        Tensor& nll, Tensor& log_alpha) = 0;
  // grad_log_probs[b,t,v] = -grad_nll[b] * occupancy(b,t,v) (the exact derivative of nll with
  // respect to log_probs; zero beyond input_lengths[b]). grad_nll [B] already holds any
  // reduction / zero_infinity factors.
  virtual void ctc_loss_backward(const Tensor& grad_nll, const Tensor& log_probs_c,
                                 const Tensor& targets, const Tensor& input_lengths,
                                 const Tensor& target_lengths, int64_t blank,
                                 const Tensor& nll, const Tensor& log_alpha,
                                 Tensor& grad_log_probs) = 0;

 private:
  BackendStats stats_;
};

// The backend for a device. CUDA throws a clear error if this build has no CUDA backend or the
// machine has no GPU.
Backend& backend_for(Device device);
// Test support: routes Device::cuda(0) to a second CPU backend (host memory, the CPU kernels) so
// that device-placement code (copies to and from the device, device checks, host round trips)
// runs and is tested on machines without a GPU. Also on when the environment has
// ASR_EMULATE_CUDA=1 at the first use of a CUDA device. It is not a GPU: never for real work.
void emulate_cuda_device(bool on);
bool cuda_device_emulated();
// True when this build compiled the CUDA backend (not whether a GPU is present).
bool cuda_backend_compiled();
// Number of usable CUDA devices (0 without a GPU or without the CUDA backend).
int cuda_device_count();
// One line naming the CUDA runtime/driver, cuBLAS, cuDNN and NCCL versions this build links
// (or saying that the CUDA backend was not built).
std::string cuda_build_info();

}  // namespace asr
