#pragma once
// Turns CUDA runtime / cuBLAS failures into asr::Error naming the call site and the library's own
// message, so a bad launch surfaces as a catchable error instead of an abort.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "asr/core/error.h"

namespace asr::cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* expr, const char* file,
                                          int line) {
  throw Error(str_cat("CUDA error at ", file, ":", line, ": ", expr, " failed: ",
                      cudaGetErrorName(err), " (", cudaGetErrorString(err), ")"));
}

[[noreturn]] inline void throw_cublas_error(cublasStatus_t st, const char* expr, const char* file,
                                            int line) {
  throw Error(str_cat("cuBLAS error at ", file, ":", line, ": ", expr, " failed: ",
                      cublasGetStatusName(st), " (", cublasGetStatusString(st), ")"));
}

// Makes `device` current for the lifetime of the guard (kernels and cudaMalloc act on the
// current device), restoring the caller's device afterwards.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int prev_ = -1;
  int device_;
};

}  // namespace asr::cuda

#define CUDA_CHECK(expr)                                                           \
  do {                                                                             \
    cudaError_t asr_cuda_err_ = (expr);                                            \
    if (asr_cuda_err_ != cudaSuccess) {                                            \
      (void)cudaGetLastError(); /* clear a non-sticky error so later calls work */ \
      ::asr::cuda::throw_cuda_error(asr_cuda_err_, #expr, __FILE__, __LINE__);     \
    }                                                                              \
  } while (0)

#define CUBLAS_CHECK(expr)                                                         \
  do {                                                                             \
    cublasStatus_t asr_cublas_st_ = (expr);                                        \
    if (asr_cublas_st_ != CUBLAS_STATUS_SUCCESS)                                   \
      ::asr::cuda::throw_cublas_error(asr_cublas_st_, #expr, __FILE__, __LINE__);  \
  } while (0)

// After a kernel launch: reports launch-configuration errors at the launch site.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
