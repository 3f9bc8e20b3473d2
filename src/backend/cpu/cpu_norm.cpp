// TEMPORARY STUB: replaced by the real kernels.
#include "cpu_backend.h"

namespace asr::cpu {

void CpuBackend::layer_norm(const Tensor& x_c, const Tensor& weight, const Tensor& bias, double eps,
                  Tensor& y, Tensor& mean, Tensor& rstd) {
  throw Error("layer_norm: cpu kernel not implemented yet");
}

void CpuBackend::layer_norm_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& weight,
                           const Tensor& mean, const Tensor& rstd, Tensor& gx, Tensor& gweight,
                           Tensor& gbias) {
  throw Error("layer_norm_backward: cpu kernel not implemented yet");
}

void CpuBackend::batch_norm(const Tensor& x_c, const Tensor& weight, const Tensor& bias,
                  Tensor& running_mean, Tensor& running_var, bool training, double momentum,
                  double eps, Tensor& y, Tensor& mean, Tensor& invstd) {
  throw Error("batch_norm: cpu kernel not implemented yet");
}

void CpuBackend::batch_norm_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& weight,
                           const Tensor& mean, const Tensor& invstd, bool training, Tensor& gx,
                           Tensor& gweight, Tensor& gbias) {
  throw Error("batch_norm_backward: cpu kernel not implemented yet");
}

}  // namespace asr::cpu
