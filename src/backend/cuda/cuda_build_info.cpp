// Versions of the CUDA libraries this build links; none of these calls needs a GPU.
#include <cublas_api.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <nccl.h>

#include "asr/backend/backend.h"

namespace asr {

std::string cuda_build_info() {
  int runtime = 0, driver = 0, nccl = 0;
  cudaRuntimeGetVersion(&runtime);
  if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = 0;
  ncclGetVersion(&nccl);
  int cb_major = 0, cb_minor = 0, cb_patch = 0;
  cublasGetProperty(MAJOR_VERSION, &cb_major);
  cublasGetProperty(MINOR_VERSION, &cb_minor);
  cublasGetProperty(PATCH_LEVEL, &cb_patch);
  size_t cudnn = cudnnGetVersion();
  auto ver = [](int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); };
  return str_cat("CUDA backend: runtime ", ver(runtime), ", driver ",
                 driver ? ver(driver) : std::string("none"), ", cuBLAS ", cb_major, ".", cb_minor,
                 ".", cb_patch, ", cuDNN ", cudnn / 10000, ".", (cudnn % 10000) / 100, ".",
                 cudnn % 100, ", NCCL ", nccl / 10000, ".", (nccl % 10000) / 100, ".", nccl % 100,
                 ", sm_90 + PTX, ", cuda_device_count(), " device(s) visible");
}

}  // namespace asr
