#include <gtest/gtest.h>

#include "asr/core/allocator.h"
#include "asr/core/caching_allocator.h"
#include "asr/core/tensor.h"
#include "asr/ops/ops.h"

using namespace asr;

TEST(CpuAllocator, ReusesFreedBlocks) {
  Allocator& a = cpu_allocator();
  void* p = a.allocate(1000);
  a.deallocate(p, 1000);
  AllocatorStats before = a.stats();
  void* q = a.allocate(900);  // same size class
  AllocatorStats after = a.stats();
  EXPECT_EQ(p, q);
  EXPECT_EQ(after.system_allocs, before.system_allocs);
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1);
  a.deallocate(q, 900);
}

TEST(CpuAllocator, SteadyStateTrainingStepDoesNoMalloc) {
  // A small MLP step, forward + backward: after a warm-up step the allocator serves every buffer
  // from its cache.
  Generator gen(3);
  Tensor w1 = Tensor::randn({32, 16}, gen, 0.1).set_requires_grad(true);
  Tensor w2 = Tensor::randn({4, 32}, gen, 0.1).set_requires_grad(true);
  Tensor x = Tensor::randn({8, 16}, gen);
  auto step = [&] {
    w1.zero_grad();
    w2.zero_grad();
    Tensor loss = ops::mean(ops::log_softmax(ops::linear(ops::relu(ops::linear(x, w1)), w2)));
    loss.backward();
  };
  step();
  step();
  uint64_t mallocs = cpu_allocator().stats().system_allocs;
  for (int i = 0; i < 3; ++i) step();
  EXPECT_EQ(cpu_allocator().stats().system_allocs, mallocs);
}

TEST(CpuAllocator, TracksPeakAndReleasesCache) {
  Allocator& a = cpu_allocator();
  a.reset_peak();
  uint64_t base = a.stats().bytes_in_use;
  {
    Tensor t = Tensor::empty({1 << 20});  // 4 MiB
    EXPECT_GE(a.stats().peak_bytes_in_use, base + (4u << 20));
  }
  EXPECT_EQ(a.stats().bytes_in_use, base);
  a.release_cache();
  EXPECT_EQ(a.stats().bytes_cached, 0u);
}

TEST(CpuAllocator, SizeClassesArePowersOfTwoThenMegabytes) {
  auto& a = static_cast<CachingAllocator&>(cpu_allocator());
  EXPECT_EQ(a.size_class(1), 64u);
  EXPECT_EQ(a.size_class(65), 128u);
  EXPECT_EQ(a.size_class(1u << 20), 1u << 20);
  EXPECT_EQ(a.size_class((1u << 20) + 1), 2u << 20);
}

TEST(CpuAllocator, BlocksOfEverChangingSizesDoNotPileUpInTheCache) {
  // Variable-length batches free large blocks whose sizes may never come back: the cache stays
  // bounded (1.5x the peak working set, at least 64 MiB) instead of growing step after step.
  Allocator& a = cpu_allocator();
  a.release_cache();
  a.reset_peak();
  const AllocatorStats before = a.stats();
  for (size_t step = 0; step < 400; ++step) {
    const size_t bytes = (size_t{2} << 20) + step * (size_t{1} << 20);  // 2 MiB, 3 MiB, ... 401 MiB
    void* p = a.allocate(bytes);
    a.deallocate(p, bytes);
  }
  const AllocatorStats after = a.stats();
  EXPECT_LE(after.bytes_cached, std::max<uint64_t>(uint64_t{64} << 20, after.peak_bytes_in_use * 3 / 2));
  EXPECT_GT(after.system_frees, before.system_frees);
  a.release_cache();
}

TEST(CpuAllocator, AWarmStepReusesEveryBlockOfTheStepBefore) {
  // A step frees all its activations; the next step with the same shapes must not call malloc.
  Allocator& a = cpu_allocator();
  a.release_cache();
  a.reset_peak();
  auto step = [&] {
    std::vector<std::pair<void*, size_t>> live;
    for (size_t i = 0; i < 40; ++i) {
      const size_t bytes = (size_t{3} << 20) + i * 4096;  // 40 activations of ~3 MiB: 120 MiB live
      live.emplace_back(a.allocate(bytes), bytes);
    }
    for (auto& [p, n] : live) a.deallocate(p, n);
  };
  step();
  const AllocatorStats warm = a.stats();
  step();
  const AllocatorStats after = a.stats();
  EXPECT_EQ(after.system_allocs, warm.system_allocs);
  EXPECT_EQ(after.cache_hits - warm.cache_hits, 40u);
  a.release_cache();
}

TEST(CpuAllocator, ALargeRequestTakesACachedBlockUpToAnEighthLarger) {
  Allocator& a = cpu_allocator();
  a.release_cache();
  const size_t mib = size_t{1} << 20;
  void* p = a.allocate(16 * mib);
  a.deallocate(p, 16 * mib);
  const AllocatorStats cached = a.stats();
  void* q = a.allocate(15 * mib);  // 16 MiB is within an eighth: the same block, at its own size
  EXPECT_EQ(q, p);
  EXPECT_EQ(a.stats().system_allocs, cached.system_allocs);
  EXPECT_EQ(a.stats().bytes_in_use - cached.bytes_in_use, 16 * mib);
  void* r = a.allocate(12 * mib);  // nothing cached within an eighth of 12 MiB
  EXPECT_EQ(a.stats().system_allocs, cached.system_allocs + 1);
  a.deallocate(q, 15 * mib);  // filed back under 16 MiB: in-use returns exactly
  a.deallocate(r, 12 * mib);
  EXPECT_EQ(a.stats().bytes_in_use, cached.bytes_in_use);
  void* s = a.allocate(16 * mib);  // and the 16 MiB class finds it again
  EXPECT_EQ(s, p);
  a.deallocate(s, 16 * mib);
  a.release_cache();
}
