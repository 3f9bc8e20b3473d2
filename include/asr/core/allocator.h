#pragma once
// Allocators hand out raw device memory. The CPU one caches freed blocks by size class so that a
// training step, once warm, performs no malloc at all (tests check `stats().system_allocs`).
// The CUDA caching allocator implements the same interface in src/backend/cuda/.
#include <cstddef>
#include <cstdint>

namespace asr {

struct AllocatorStats {
  uint64_t system_allocs = 0;   // calls that reached malloc / cudaMalloc
  uint64_t cache_hits = 0;      // requests served from the free-list cache
  uint64_t bytes_in_use = 0;    // bytes handed out and not yet returned
  uint64_t peak_bytes_in_use = 0;
  uint64_t bytes_cached = 0;    // bytes held in free lists
  uint64_t system_frees = 0;    // blocks given back because the cache was full
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  virtual AllocatorStats stats() const = 0;
  virtual void reset_peak() = 0;
  virtual void release_cache() = 0;  // return every cached block to the system
};

// The process-wide CPU allocator (thread-safe, 64-byte aligned blocks).
Allocator& cpu_allocator();

}  // namespace asr
