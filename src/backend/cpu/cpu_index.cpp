// TEMPORARY STUB: replaced by the real kernels.
#include "cpu_backend.h"

namespace asr::cpu {

void CpuBackend::index_select(const Tensor& x_c, int64_t dim, const Tensor& index, Tensor& y) {
  throw Error("index_select: cpu kernel not implemented yet");
}

void CpuBackend::index_add(const Tensor& gy_c, int64_t dim, const Tensor& index, Tensor& gx) {
  throw Error("index_add: cpu kernel not implemented yet");
}

void CpuBackend::gather(const Tensor& x_c, int64_t dim, const Tensor& index, Tensor& y) {
  throw Error("gather: cpu kernel not implemented yet");
}

void CpuBackend::scatter_add(const Tensor& gy_c, int64_t dim, const Tensor& index, Tensor& gx) {
  throw Error("scatter_add: cpu kernel not implemented yet");
}

}  // namespace asr::cpu
