// TEMPORARY STUB: replaced by the real kernels.
#include "cpu_backend.h"

namespace asr::cpu {

void CpuBackend::softmax(const Tensor& x_c, bool log, Tensor& y) {
  throw Error("softmax: cpu kernel not implemented yet");
}

void CpuBackend::softmax_backward(const Tensor& y_c, const Tensor& gy_c, bool log, Tensor& gx) {
  throw Error("softmax_backward: cpu kernel not implemented yet");
}

}  // namespace asr::cpu
