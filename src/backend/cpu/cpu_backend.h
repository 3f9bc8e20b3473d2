#pragma once
// The CPU backend: the reference implementation every other backend is tested against.
// Methods are defined across cpu_*.cpp, one file per kernel family.
#include "asr/backend/backend.h"

namespace asr::cpu {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const char* name = "cpu") : name_(name) {}
  const char* name() const override { return name_; }
  Allocator& allocator() override { return cpu_allocator(); }

  void copy(const Tensor& src, Tensor& dst) override;
  void fill(Tensor& dst, double value) override;
  void copy_from_host(const void* host, Tensor& dst) override;
  void copy_to_host(const Tensor& src, void* host) override;

  void unary(UnaryOp op, const Tensor& x, Tensor& y) override;
  void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& gy,
                      Tensor& gx) override;
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) override;
  void affine(const Tensor& x, double alpha, double beta, Tensor& y) override;
  void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) override;

  void sum_to(const Tensor& x, Tensor& out) override;

  void gemm(bool trans_a, bool trans_b, double alpha, const Tensor& a, const Tensor& b,
            double beta, Tensor& c) override;

  void softmax(const Tensor& x_c, bool log, Tensor& y) override;
  void softmax_backward(const Tensor& y_c, const Tensor& gy_c, bool log, Tensor& gx) override;
  void bias_silu(const Tensor& x_c, const Tensor& bias, Tensor& y) override;
  void bias_silu_backward(const Tensor& x_c, const Tensor& bias, const Tensor& gy_c, Tensor& gx) override;
  void glu(const Tensor& x_c, const Tensor& row_mask_c, Tensor& y) override;
  void glu_backward(const Tensor& x_c, const Tensor& row_mask_c, const Tensor& gy_c, Tensor& gx) override;
  void rel_pos_softmax(const Tensor& ac_c, const Tensor& bd_c, const Tensor& mask_c, double scale,
                       Tensor& y) override;

  void layer_norm(const Tensor& x_c, const Tensor& weight, const Tensor& bias, double eps,
                  Tensor& y, Tensor& mean, Tensor& rstd) override;
  void layer_norm_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& weight,
                           const Tensor& mean, const Tensor& rstd, Tensor& gx, Tensor& gweight,
                           Tensor& gbias) override;
  void batch_norm(const Tensor& x_c, const Tensor& weight, const Tensor& bias,
                  Tensor& running_mean, Tensor& running_var, bool training, double momentum,
                  double eps, Tensor& y, Tensor& mean, Tensor& invstd) override;
  void batch_norm_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& weight,
                           const Tensor& mean, const Tensor& invstd, bool training, Tensor& gx,
                           Tensor& gweight, Tensor& gbias) override;

  void dropout_mask(double p, uint64_t seed, uint64_t counter, Tensor& mask) override;

  void conv1d(const Tensor& x_c, const Tensor& w_c, const Tensor& bias, int64_t stride,
              int64_t pad, int64_t groups, Tensor& y) override;
  void conv1d_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& w_c, int64_t stride,
                       int64_t pad, int64_t groups, Tensor& gx, Tensor& gw, Tensor& gbias) override;
  void conv2d(const Tensor& x_c, const Tensor& w_c, const Tensor& bias, int64_t stride,
              int64_t pad, int64_t groups, Tensor& y) override;
  void conv2d_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& w_c, int64_t stride,
                       int64_t pad, int64_t groups, Tensor& gx, Tensor& gw, Tensor& gbias) override;

  void index_select(const Tensor& x_c, int64_t dim, const Tensor& index, Tensor& y) override;
  void index_add(const Tensor& gy_c, int64_t dim, const Tensor& index, Tensor& gx) override;
  void gather(const Tensor& x_c, int64_t dim, const Tensor& index, Tensor& y) override;
  void scatter_add(const Tensor& gy_c, int64_t dim, const Tensor& index, Tensor& gx) override;

  void ctc_loss(const Tensor& log_probs_c, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, int64_t blank, Tensor& nll,
                Tensor& log_alpha) override;
  void ctc_loss_backward(const Tensor& grad_nll, const Tensor& log_probs_c, const Tensor& targets,
                         const Tensor& input_lengths, const Tensor& target_lengths, int64_t blank,
                         const Tensor& nll, const Tensor& log_alpha,
                         Tensor& grad_log_probs) override;
 private:
  const char* name_;
};

}  // namespace asr::cpu
