// CudaBackend construction, the cuBLAS handle, the device guard and the "not yet" error.
#include "cuda_backend.h"

#include <cstdio>

#include "cuda_check.h"

namespace asr::cuda {

DeviceGuard::DeviceGuard(int device) : device_(device) {
  CUDA_CHECK(cudaGetDevice(&prev_));
  if (prev_ != device_) CUDA_CHECK(cudaSetDevice(device_));
}

DeviceGuard::~DeviceGuard() {
  if (prev_ >= 0 && prev_ != device_) (void)cudaSetDevice(prev_);
}

CudaBackend::CudaBackend(int device) : device_(device), allocator_(device) {
  std::snprintf(name_, sizeof(name_), "cuda:%d", device);
}

CudaBackend::~CudaBackend() {
  if (blas_) (void)cublasDestroy(blas_);
}

cublasHandle_t CudaBackend::blas() {
  std::lock_guard<std::mutex> lock(blas_mu_);
  if (!blas_) {
    DeviceGuard guard(device_);
    CUBLAS_CHECK(cublasCreate(&blas_));
    // Legacy default stream like every other kernel here; host-side alpha/beta.
    CUBLAS_CHECK(cublasSetStream(blas_, nullptr));
    CUBLAS_CHECK(cublasSetPointerMode(blas_, CUBLAS_POINTER_MODE_HOST));
  }
  return blas_;
}

void not_implemented(const char* op, const std::string& detail) {
  throw Error(str_cat(op, ": not implemented on CUDA yet (CUDA backend issue)",
                      detail.empty() ? "" : ": ", detail));
}

}  // namespace asr::cuda
