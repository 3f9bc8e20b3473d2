#pragma once
// Caching device allocator for one GPU (the free-list cache is asr::CachingAllocator): a warm
// training step never calls cudaMalloc/cudaFree (both synchronise the device). All work runs on
// the legacy default stream, so a block freed by the host can be reused at once: later kernels
// are ordered after the ones that used it. (Uploads still overlap with compute: they are async
// copies from pinned memory on that same stream, pinned_staging.h. A second stream would need
// per-stream pools or events on every reuse.)
#include "asr/core/caching_allocator.h"

namespace asr::cuda {

class CudaCachingAllocator final : public CachingAllocator {
 public:
  // 512 B minimum keeps every block aligned for vector loads; 2 MiB granules above 1 MiB bound
  // the waste of large activations to < 2 MiB each.
  explicit CudaCachingAllocator(int device)
      : CachingAllocator(512, size_t{2} << 20), device_(device) {}
  ~CudaCachingAllocator() override { release_all_noexcept(); }

 protected:
  void* system_allocate(size_t bytes) override;
  void system_free(void* ptr) override;
  [[noreturn]] void out_of_memory(size_t bytes, const AllocatorStats& stats) override;

 private:
  int device_;
};

}  // namespace asr::cuda
