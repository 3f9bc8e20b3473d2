// CUDA backend plumbing: the parts that must work on a machine without a GPU (build flags,
// library versions, clear errors), then allocator and error behaviour on a real device.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <vector>

#include "../../../src/backend/cuda/cuda_allocator.h"
#include "asr/backend/backend.h"
#include "asr/ops/ops.h"

using namespace asr;
using ::testing::HasSubstr;

TEST(CudaBackendNoGpu, CompiledIntoThisBuild) { EXPECT_TRUE(cuda_backend_compiled()); }

TEST(CudaBackendNoGpu, MissingDeviceIsAClearError) {
  const int n = cuda_device_count();
  EXPECT_GE(n, 0);
  try {
    backend_for(Device::cuda(n));  // one past the last device (device 0 when there is no GPU)
    FAIL() << "expected asr::Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no CUDA device"));
    EXPECT_THAT(e.what(), HasSubstr(std::to_string(n) + " visible"));
  }
  EXPECT_THROW(Tensor::zeros({2, 3}, DType::F32, Device::cuda(n)), Error);
}

TEST(CudaBackendNoGpu, LibraryVersions) {
  const std::string v = cuda_build_info();
  RecordProperty("cuda_build_info", v);  // lands in the --gtest_output XML
  std::printf("%s\n", v.c_str());
  EXPECT_THAT(v, HasSubstr("runtime 13."));
  EXPECT_THAT(v, HasSubstr("cuBLAS "));
  EXPECT_THAT(v, HasSubstr("cuDNN 9."));
  EXPECT_THAT(v, HasSubstr("NCCL 2."));
  EXPECT_THAT(v, HasSubstr(std::to_string(cuda_device_count()) + " device(s)"));
}

TEST(CudaBackendNoGpu, AllocatorSizeClasses) {
  cuda::CudaCachingAllocator a(0);  // no device touched until the first allocation
  EXPECT_EQ(a.size_class(0), 512u);
  EXPECT_EQ(a.size_class(1), 512u);
  EXPECT_EQ(a.size_class(513), 1024u);
  EXPECT_EQ(a.size_class(1u << 20), 1u << 20);
  EXPECT_EQ(a.size_class((1u << 20) + 1), 2u << 20);
  EXPECT_EQ(a.size_class((5u << 20) + 7), 6u << 20);
  EXPECT_EQ(a.stats().system_allocs, 0u);
  a.release_cache();
}

TEST(CudaBackend, AllocatorCachesFreedBlocks) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Allocator& alloc = backend_for(Device::cuda(0)).allocator();
  alloc.release_cache();
  const AllocatorStats s0 = alloc.stats();
  void* p = alloc.allocate(3000);
  alloc.deallocate(p, 3000);
  const AllocatorStats s1 = alloc.stats();
  EXPECT_EQ(s1.system_allocs, s0.system_allocs + 1);
  EXPECT_EQ(s1.bytes_cached, s0.bytes_cached + 4096);
  void* q = alloc.allocate(4000);  // same 4 KiB class: served from the cache
  EXPECT_EQ(q, p);
  const AllocatorStats s2 = alloc.stats();
  EXPECT_EQ(s2.system_allocs, s1.system_allocs);
  EXPECT_EQ(s2.cache_hits, s1.cache_hits + 1);
  EXPECT_EQ(s2.bytes_in_use, s0.bytes_in_use + 4096);
  EXPECT_GE(s2.peak_bytes_in_use, s2.bytes_in_use);
  alloc.deallocate(q, 4000);
  alloc.release_cache();
  EXPECT_EQ(alloc.stats().bytes_cached, 0u);
}

TEST(CudaBackend, SteadyStateTensorsDoNotCallCudaMalloc) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Allocator& alloc = backend_for(Device::cuda(0)).allocator();
  auto step = [] {
    Tensor a = Tensor::full({256, 256}, 1.5, DType::F32, Device::cuda(0));
    Tensor b = ops::exp(ops::add(a, a));
    return b.numel();
  };
  step();  // warm the cache
  const uint64_t before = alloc.stats().system_allocs;
  for (int i = 0; i < 5; ++i) step();
  EXPECT_EQ(alloc.stats().system_allocs, before);
}

TEST(CudaBackend, OutOfMemoryIsAnError) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  try {
    Tensor::empty({int64_t{1} << 48}, DType::F32, Device::cuda(0));  // 1 PiB
    FAIL() << "expected asr::Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cudaMalloc"));
  }
  // The device is still usable afterwards.
  EXPECT_EQ(Tensor::full({4}, 2.0, DType::F32, Device::cuda(0)).to_vector()[3], 2.0);
}

TEST(CudaBackend, NameAndUnsupportedDtypesThrowClearly) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  EXPECT_STREQ(backend_for(Device::cuda(0)).name(), "cuda:0");
  // Every kernel exists now; integer dtypes are refused with the op's name.
  Tensor xi = Tensor::ones({4, 6}, DType::I64, Device::cuda(0));
  Tensor yi = Tensor::empty({4, 6}, DType::I64, Device::cuda(0));
  try {
    backend_for(Device::cuda(0)).softmax(xi, false, yi);
    FAIL() << "expected asr::Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("softmax: CUDA kernel supports f32 and f64"));
  }
  // Strided and broadcast elementwise operands and dtype conversions run on the device.
  Tensor x = Tensor::ones({4, 6}, DType::F32, Device::cuda(0));
  for (double v : ops::exp(x.transpose(0, 1)).to(Device::cpu()).to_vector())
    EXPECT_NEAR(v, std::exp(1.0), 1e-6);
  Tensor row = Tensor::ones({6}, DType::F32, Device::cuda(0));
  for (double v : ops::add(x, row).to(Device::cpu()).to_vector()) EXPECT_EQ(v, 2.0);
  EXPECT_EQ(x.to(DType::F64).dtype(), DType::F64);
}

// Large transfers go through the pinned staging buffer and uploads return before their DMA ends:
// the source may be reused at once, back-to-back uploads (the buffer waits for the previous one)
// and kernels launched after an upload still see the right data, and downloads are exact.
TEST(CudaBackend, PinnedUploadsAndDownloadsAreExactAndOrdered) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  const int64_t n = int64_t{3} << 20;  // 12 MiB of f32: above the staging threshold
  std::vector<float> host(static_cast<size_t>(n));
  std::vector<Tensor> on_gpu;
  for (int round = 0; round < 3; ++round) {
    for (int64_t i = 0; i < n; ++i) host[static_cast<size_t>(i)] = static_cast<float>(i % 1000 + round);
    on_gpu.push_back(Tensor::from_vector(host, {n}).to(Device::cuda(0)));
    std::fill(host.begin(), host.end(), -1.0f);  // reusing the source right after must not matter
  }
  for (int round = 0; round < 3; ++round) {
    const Tensor doubled = ops::scale(on_gpu[static_cast<size_t>(round)], 2.0);  // a kernel after the upload
    const std::vector<float> back = doubled.to(Device::cpu()).to_float_vector();
    ASSERT_EQ(static_cast<int64_t>(back.size()), n);
    for (int64_t i = 0; i < n; i += 4099)
      ASSERT_EQ(back[static_cast<size_t>(i)], 2.0f * static_cast<float>(i % 1000 + round)) << "round " << round << " i " << i;
  }
}
