#pragma once
// The free-list cache shared by the CPU and CUDA allocators: blocks are rounded up to a size
// class (powers of two from `min_block` up to 1 MiB, then multiples of `large_granule`) and kept on
// a per-class free list when released, so a warm training step reuses the same blocks instead of
// calling malloc/cudaMalloc. A large request may take a cached block up to an eighth larger. The
// cache holds at most 1.5x the peak working set. A device supplies only the raw allocation calls.
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "asr/core/allocator.h"

namespace asr {

class CachingAllocator : public Allocator {
 public:
  CachingAllocator(size_t min_block, size_t large_granule)
      : min_block_(min_block), large_granule_(large_granule) {}

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) override;
  AllocatorStats stats() const override;
  void reset_peak() override;
  void release_cache() override;

  size_t size_class(size_t bytes) const;

 protected:
  // Returns nullptr when the device is out of memory (the cache is then released and the call
  // retried once); throws for any other failure.
  virtual void* system_allocate(size_t bytes) = 0;
  virtual void system_free(void* ptr) = 0;
  // Called when even the retry failed: throws an error naming the device.
  [[noreturn]] virtual void out_of_memory(size_t bytes, const AllocatorStats& stats) = 0;
  // Derived destructors call this (system_free is virtual, so the base destructor cannot).
  void release_all_noexcept();

 private:
  void release_cache_locked();

  size_t min_block_, large_granule_;
  mutable std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  std::unordered_map<void*, size_t> oversized_;  // blocks handed out for a smaller class: their own
  AllocatorStats stats_;
};

}  // namespace asr
