// CPU caching allocator: blocks are rounded up to a size class (powers of two below 1 MiB,
// 1 MiB multiples above) and kept on a per-class free list when released, so steady-state
// training reuses the same blocks every step instead of calling malloc.
#include "asr/core/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace asr {
namespace {

size_t size_class(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= (1u << 20)) {
    size_t c = 64;
    while (c < bytes) c <<= 1;
    return c;
  }
  const size_t mb = 1u << 20;
  return (bytes + mb - 1) / mb * mb;
}

class CpuCachingAllocator final : public Allocator {
 public:
  ~CpuCachingAllocator() override { release_cache(); }

  void* allocate(size_t bytes) override {
    size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    void* p = nullptr;
    auto it = free_.find(cls);
    if (it != free_.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      stats_.cache_hits++;
      stats_.bytes_cached -= cls;
    } else {
      p = std::aligned_alloc(64, cls);
      if (!p) {  // give the cache back and retry once before failing
        release_cache_locked();
        p = std::aligned_alloc(64, cls);
        if (!p) throw std::bad_alloc();
      }
      stats_.system_allocs++;
    }
    stats_.bytes_in_use += cls;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    return p;
  }

  void deallocate(void* ptr, size_t bytes) override {
    if (!ptr) return;
    size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    free_[cls].push_back(ptr);
    stats_.bytes_in_use -= cls;
    stats_.bytes_cached += cls;
  }

  AllocatorStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }
  void reset_peak() override {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_bytes_in_use = stats_.bytes_in_use;
  }
  void release_cache() override {
    std::lock_guard<std::mutex> lock(mu_);
    release_cache_locked();
  }

 private:
  void release_cache_locked() {
    for (auto& [cls, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    stats_.bytes_cached = 0;
  }

  mutable std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

}  // namespace

Allocator& cpu_allocator() {
  static CpuCachingAllocator* instance = new CpuCachingAllocator();  // never destroyed: tensors
  return *instance;                                                  // may outlive statics
}

}  // namespace asr
