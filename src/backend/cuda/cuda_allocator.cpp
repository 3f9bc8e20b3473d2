#include "cuda_allocator.h"

#include <cuda_runtime.h>

#include "cuda_check.h"

namespace asr::cuda {

size_t CudaCachingAllocator::size_class(size_t bytes) {
  // 512 B minimum keeps every block aligned for vector loads; 2 MiB granules above 1 MiB bound
  // the waste of large activations to < 2 MiB each.
  if (bytes <= (size_t{1} << 20)) {
    size_t c = 512;
    while (c < bytes) c <<= 1;
    return c;
  }
  const size_t g = size_t{2} << 20;
  return (bytes + g - 1) / g * g;
}

CudaCachingAllocator::~CudaCachingAllocator() {
  // Destroyed only if the backend is (it is leaked on purpose); never throw from here.
  try {
    release_cache();
  } catch (...) {
  }
}

void* CudaCachingAllocator::allocate(size_t bytes) {
  const size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  void* p = nullptr;
  auto it = free_.find(cls);
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    stats_.cache_hits++;
    stats_.bytes_cached -= cls;
  } else {
    DeviceGuard guard(device_);
    cudaError_t err = cudaMalloc(&p, cls);
    if (err == cudaErrorMemoryAllocation) {  // give the cache back and retry once
      (void)cudaGetLastError();
      release_cache_locked();
      err = cudaMalloc(&p, cls);
    }
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      throw Error(str_cat("cuda allocator: cudaMalloc of ", cls, " bytes on cuda:", device_,
                          " failed: ", cudaGetErrorString(err), " (", stats_.bytes_in_use,
                          " bytes in use, peak ", stats_.peak_bytes_in_use, ")"));
    }
    stats_.system_allocs++;
  }
  stats_.bytes_in_use += cls;
  if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
  return p;
}

void CudaCachingAllocator::deallocate(void* ptr, size_t bytes) {
  if (!ptr) return;
  const size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  free_[cls].push_back(ptr);
  stats_.bytes_in_use -= cls;
  stats_.bytes_cached += cls;
}

AllocatorStats CudaCachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CudaCachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

void CudaCachingAllocator::release_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  release_cache_locked();
}

void CudaCachingAllocator::release_cache_locked() {
  if (free_.empty()) return;
  DeviceGuard guard(device_);
  for (auto& [cls, blocks] : free_)
    for (void* p : blocks) CUDA_CHECK(cudaFree(p));
  free_.clear();
  stats_.bytes_cached = 0;
}

}  // namespace asr::cuda
