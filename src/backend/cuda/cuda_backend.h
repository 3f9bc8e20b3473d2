#pragma once
// The CUDA backend: one instance per visible device, created on first use by
// cuda_backend_entry(). Every Backend kernel runs on the device (f32 and f64): memory and
// pointwise methods live in cuda_memory.cpp / cuda_pointwise.cpp (kernels in
// copy_kernels.cu / elementwise_kernels.cu), GEMM in cuda_gemm.cpp (cuBLAS), and the other
// families (reduce, softmax, norm, random, conv, index, ctc) next to their kernels in
// <family>_kernels.cu. All kernels run on the legacy default stream and are deterministic.
#include <mutex>

#include <cublas_v2.h>

#include "asr/backend/backend.h"
#include "cuda_allocator.h"
#include "pinned_staging.h"

namespace asr::cuda {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device);
  ~CudaBackend() override;

  const char* name() const override { return name_; }
  Allocator& allocator() override { return allocator_; }
  int device_index() const { return device_; }

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
  // The cuBLAS handle, created on the first GEMM (creation needs a live device).
  cublasHandle_t blas();

  int device_;
  char name_[16];
  CudaCachingAllocator allocator_;
  PinnedStaging staging_;  // host <-> device copies through pinned memory
  std::mutex blas_mu_;
  cublasHandle_t blas_ = nullptr;
};

// Throws "<op>: not implemented on CUDA yet (CUDA backend issue)" plus `detail` if given.
[[noreturn]] void not_implemented(const char* op, const std::string& detail = std::string());

}  // namespace asr::cuda
