#pragma once
// Caching device allocator for one GPU: freed blocks go onto per-size-class free lists and are
// handed out again, so a warm training step never calls cudaMalloc/cudaFree (both synchronise
// the device). All work runs on the legacy default stream for now, so a block freed by the host
// can be reused at once: later kernels are ordered after the ones that used it. The CUDA issue
// adds streams (and then per-stream pools).
#include <map>
#include <mutex>
#include <vector>

#include "asr/core/allocator.h"

namespace asr::cuda {

class CudaCachingAllocator final : public Allocator {
 public:
  explicit CudaCachingAllocator(int device) : device_(device) {}
  ~CudaCachingAllocator() override;

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) override;
  AllocatorStats stats() const override;
  void reset_peak() override;
  void release_cache() override;

  // Rounded block size: powers of two from 512 B up to 1 MiB, then multiples of 2 MiB.
  static size_t size_class(size_t bytes);

 private:
  void release_cache_locked();

  int device_;
  mutable std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

}  // namespace asr::cuda
