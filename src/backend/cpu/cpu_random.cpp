// TEMPORARY STUB: replaced by the real kernels.
#include "cpu_backend.h"

namespace asr::cpu {

void CpuBackend::dropout_mask(double p, uint64_t seed, uint64_t counter, Tensor& mask) {
  throw Error("dropout_mask: cpu kernel not implemented yet");
}

}  // namespace asr::cpu
