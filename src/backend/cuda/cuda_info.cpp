#include "cuda_info.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <nccl.h>

#include "asr/backend/backend.h"
#include "asr/core/error.h"

namespace asr {

namespace {

// CUDA runtime/driver versions are encoded 1000 * major + 10 * minor.
std::string cuda_ver(int v) { return str_cat(v / 1000, ".", (v % 1000) / 10); }
// cuDNN 9 and NCCL >= 2.9 encode 10000 * major + 100 * minor + patch.
std::string triple_ver(long long v) { return str_cat(v / 10000, ".", (v % 10000) / 100, ".", v % 100); }

}  // namespace

std::string cuda_library_versions() {
  int rt = 0, drv = 0;
  if (cudaRuntimeGetVersion(&rt) != cudaSuccess) rt = 0;
  if (cudaDriverGetVersion(&drv) != cudaSuccess) drv = 0;  // 0 also means "no driver"
  (void)cudaGetLastError();
  int bl_major = 0, bl_minor = 0, bl_patch = 0;
  const bool bl_ok = cublasGetProperty(MAJOR_VERSION, &bl_major) == CUBLAS_STATUS_SUCCESS &&
                     cublasGetProperty(MINOR_VERSION, &bl_minor) == CUBLAS_STATUS_SUCCESS &&
                     cublasGetProperty(PATCH_LEVEL, &bl_patch) == CUBLAS_STATUS_SUCCESS;
  int nccl = 0;
  if (ncclGetVersion(&nccl) != ncclSuccess) nccl = 0;
  return str_cat("CUDA runtime ", cuda_ver(rt), " (built ", cuda_ver(CUDART_VERSION), "), driver ",
                 drv ? cuda_ver(drv) : std::string("none"), ", cuBLAS ",
                 bl_ok ? str_cat(bl_major, ".", bl_minor, ".", bl_patch) : std::string("unknown"),
                 ", cuDNN ", triple_ver(static_cast<long long>(cudnnGetVersion())), " (built ",
                 triple_ver(CUDNN_VERSION), "), NCCL ", nccl ? triple_ver(nccl) : std::string("unknown"),
                 " (built ", triple_ver(NCCL_VERSION_CODE), "), ", cuda_device_count(),
                 " device(s)");
}

}  // namespace asr
