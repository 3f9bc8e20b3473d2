#include "cuda_allocator.h"

#include <cuda_runtime.h>

#include "cuda_check.h"

namespace asr::cuda {

void* CudaCachingAllocator::system_allocate(size_t bytes) {
  DeviceGuard guard(device_);
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, bytes);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // clear the sticky-free error so the retry can succeed
    return nullptr;
  }
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    throw Error(str_cat("cuda allocator: cudaMalloc of ", bytes, " bytes on cuda:", device_,
                        " failed: ", cudaGetErrorString(err)));
  }
  return p;
}

void CudaCachingAllocator::system_free(void* ptr) {
  DeviceGuard guard(device_);
  CUDA_CHECK(cudaFree(ptr));
}

void CudaCachingAllocator::out_of_memory(size_t bytes, const AllocatorStats& s) {
  throw Error(str_cat("cuda allocator: cudaMalloc of ", bytes, " bytes on cuda:", device_,
                      " failed: out of memory (", s.bytes_in_use, " bytes in use, peak ",
                      s.peak_bytes_in_use, ")"));
}

}  // namespace asr::cuda
