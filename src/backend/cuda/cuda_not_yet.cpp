// Kernels the CUDA backend does not have yet (the CUDA backend issue adds them). Each throws a
// clear asr::Error so a model that reaches one on the GPU fails loudly, naming the op.
#include "cuda_backend.h"

namespace asr::cuda {

void CudaBackend::unary_backward(UnaryOp, const Tensor&, const Tensor&, const Tensor&, Tensor&) {
  not_implemented("unary_backward");
}
void CudaBackend::where(const Tensor&, const Tensor&, const Tensor&, Tensor&) {
  not_implemented("where");
}
void CudaBackend::sum_to(const Tensor&, Tensor&) { not_implemented("sum_to"); }
void CudaBackend::softmax(const Tensor&, bool, Tensor&) { not_implemented("softmax"); }
void CudaBackend::softmax_backward(const Tensor&, const Tensor&, bool, Tensor&) {
  not_implemented("softmax_backward");
}
void CudaBackend::layer_norm(const Tensor&, const Tensor&, const Tensor&, double, Tensor&,
                             Tensor&, Tensor&) {
  not_implemented("layer_norm");
}
void CudaBackend::layer_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                      const Tensor&, Tensor&, Tensor&, Tensor&) {
  not_implemented("layer_norm_backward");
}
void CudaBackend::batch_norm(const Tensor&, const Tensor&, const Tensor&, Tensor&, Tensor&, bool,
                             double, double, Tensor&, Tensor&, Tensor&) {
  not_implemented("batch_norm");
}
void CudaBackend::batch_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                      const Tensor&, bool, Tensor&, Tensor&, Tensor&) {
  not_implemented("batch_norm_backward");
}
void CudaBackend::dropout_mask(double, uint64_t, uint64_t, Tensor&) {
  not_implemented("dropout_mask");
}
void CudaBackend::conv1d(const Tensor&, const Tensor&, const Tensor&, int64_t, int64_t, int64_t,
                         Tensor&) {
  not_implemented("conv1d");
}
void CudaBackend::conv1d_backward(const Tensor&, const Tensor&, const Tensor&, int64_t, int64_t,
                                  int64_t, Tensor&, Tensor&, Tensor&) {
  not_implemented("conv1d_backward");
}
void CudaBackend::conv2d(const Tensor&, const Tensor&, const Tensor&, int64_t, int64_t, int64_t,
                         Tensor&) {
  not_implemented("conv2d");
}
void CudaBackend::conv2d_backward(const Tensor&, const Tensor&, const Tensor&, int64_t, int64_t,
                                  int64_t, Tensor&, Tensor&, Tensor&) {
  not_implemented("conv2d_backward");
}
void CudaBackend::index_select(const Tensor&, int64_t, const Tensor&, Tensor&) {
  not_implemented("index_select");
}
void CudaBackend::index_add(const Tensor&, int64_t, const Tensor&, Tensor&) {
  not_implemented("index_add");
}
void CudaBackend::gather(const Tensor&, int64_t, const Tensor&, Tensor&) {
  not_implemented("gather");
}
void CudaBackend::scatter_add(const Tensor&, int64_t, const Tensor&, Tensor&) {
  not_implemented("scatter_add");
}
void CudaBackend::ctc_loss(const Tensor&, const Tensor&, const Tensor&, const Tensor&, int64_t,
                           Tensor&, Tensor&) {
  not_implemented("ctc_loss");
}
void CudaBackend::ctc_loss_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                    const Tensor&, int64_t, const Tensor&, const Tensor&,
                                    Tensor&) {
  not_implemented("ctc_loss_backward");
}

}  // namespace asr::cuda
