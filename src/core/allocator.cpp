// The caching allocator's bookkeeping and the CPU allocator built on it.
#include "asr/core/allocator.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "asr/core/caching_allocator.h"
#include "asr/core/error.h"

namespace asr {

namespace {
constexpr size_t kMinCacheBytes = size_t{64} << 20;
}  // namespace

size_t CachingAllocator::size_class(size_t bytes) const {
  if (bytes <= (size_t{1} << 20)) {
    size_t c = min_block_;
    while (c < bytes) c <<= 1;
    return c;
  }
  return (bytes + large_granule_ - 1) / large_granule_ * large_granule_;
}

void* CachingAllocator::allocate(size_t bytes) {
  size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  void* p = nullptr;
  auto it = free_.find(cls);
  if (it == free_.end() || it->second.empty()) {
    // Large blocks of variable-length batches rarely come back in the same granule: a cached
    // block up to an eighth larger serves the request (it is filed under its own class again).
    it = free_.end();
    if (cls > (size_t{1} << 20))
      for (auto j = free_.upper_bound(cls); j != free_.end() && j->first <= cls + cls / 8; ++j)
        if (!j->second.empty()) {
          it = j;
          break;
        }
  }
  if (it != free_.end()) {
    p = it->second.back();
    it->second.pop_back();
    if (it->first != cls) {
      cls = it->first;
      oversized_[p] = cls;
    }
    stats_.cache_hits++;
    stats_.bytes_cached -= cls;
  } else {
    p = system_allocate(cls);
    if (!p) {  // give the cache back and retry once before failing
      release_cache_locked();
      p = system_allocate(cls);
      if (!p) out_of_memory(cls, stats_);
    }
    stats_.system_allocs++;
  }
  stats_.bytes_in_use += cls;
  if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
  return p;
}

void CachingAllocator::deallocate(void* ptr, size_t bytes) {
  if (!ptr) return;
  size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  if (!oversized_.empty()) {
    auto o = oversized_.find(ptr);
    if (o != oversized_.end()) {
      cls = o->second;
      oversized_.erase(o);
    }
  }
  stats_.bytes_in_use -= cls;
  // A training step frees everything it allocated, and the next step asks for the same blocks.
  // Zero misses needs, per size class, the most blocks alive at once, and those maxima fall at
  // different moments of the step: their sum is above the peak working set (1.24x in the small
  // Conformer's step). The cache therefore keeps up to 1.5x the peak (at least kMinCacheBytes):
  // a warm step then never reaches malloc. With half the peak, as before, a third of a step's
  // pages were faulted in again every step. Beyond the limit, blocks go back to the system, so
  // sizes that never come back cannot pile up.
  const size_t limit = std::max<size_t>(kMinCacheBytes, stats_.peak_bytes_in_use + stats_.peak_bytes_in_use / 2);
  if (stats_.bytes_cached + cls > limit) {
    system_free(ptr);
    stats_.system_frees++;
    return;
  }
  free_[cls].push_back(ptr);
  stats_.bytes_cached += cls;
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

void CachingAllocator::release_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  release_cache_locked();
}

void CachingAllocator::release_cache_locked() {
  for (auto& [cls, blocks] : free_)
    for (void* p : blocks) system_free(p);
  free_.clear();
  stats_.bytes_cached = 0;
}

void CachingAllocator::release_all_noexcept() {
  try {
    release_cache();
  } catch (...) {
  }
}

namespace {

// 64-byte aligned host blocks; 1 MiB granules above 1 MiB.
class CpuCachingAllocator final : public CachingAllocator {
 public:
  CpuCachingAllocator() : CachingAllocator(64, size_t{1} << 20) {}
  ~CpuCachingAllocator() override { release_all_noexcept(); }

 protected:
  void* system_allocate(size_t bytes) override { return std::aligned_alloc(64, bytes); }
  void system_free(void* ptr) override { std::free(ptr); }
  [[noreturn]] void out_of_memory(size_t bytes, const AllocatorStats& s) override {
    throw Error(str_cat("cpu allocator: out of memory allocating ", bytes, " bytes (",
                        s.bytes_in_use, " bytes in use)"));
  }
};

}  // namespace

Allocator& cpu_allocator() {
  static CpuCachingAllocator* instance = new CpuCachingAllocator();  // never destroyed: tensors
  return *instance;                                                  // may outlive statics
}

}  // namespace asr
