// TEMPORARY STUB: replaced by the real kernels.
#include "cpu_backend.h"

namespace asr::cpu {

void CpuBackend::gemm(bool trans_a, bool trans_b, double alpha, const Tensor& a, const Tensor& b,
            double beta, Tensor& c) {
  throw Error("gemm: cpu kernel not implemented yet");
}

}  // namespace asr::cpu
