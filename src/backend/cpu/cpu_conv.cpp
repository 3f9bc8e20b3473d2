// TEMPORARY STUB: replaced by the real kernels.
#include "cpu_backend.h"

namespace asr::cpu {

void CpuBackend::conv1d(const Tensor& x_c, const Tensor& w_c, const Tensor& bias, int64_t stride,
              int64_t pad, int64_t groups, Tensor& y) {
  throw Error("conv1d: cpu kernel not implemented yet");
}

void CpuBackend::conv1d_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& w_c, int64_t stride,
                       int64_t pad, int64_t groups, Tensor& gx, Tensor& gw, Tensor& gbias) {
  throw Error("conv1d_backward: cpu kernel not implemented yet");
}

void CpuBackend::conv2d(const Tensor& x_c, const Tensor& w_c, const Tensor& bias, int64_t stride,
              int64_t pad, int64_t groups, Tensor& y) {
  throw Error("conv2d: cpu kernel not implemented yet");
}

void CpuBackend::conv2d_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& w_c, int64_t stride,
                       int64_t pad, int64_t groups, Tensor& gx, Tensor& gw, Tensor& gbias) {
  throw Error("conv2d_backward: cpu kernel not implemented yet");
}

}  // namespace asr::cpu
