// Dropout masks from the counter-based generator: element i depends only on (seed, counter + i),
// with the same splitmix64 hash and 53-bit uniform as src/core/generator.cpp, so the GPU mask is
// bitwise identical to the CPU mask.
#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_device.cuh"
#include "cuda_dispatch.h"

namespace asr::cuda {

namespace {

// Generator::hash, repeated for the device (keep the two in sync).
__device__ __forceinline__ uint64_t dev_hash(uint64_t seed, uint64_t counter) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + counter * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Generator::uniform: exact (a 53-bit integer times a power of two).
__device__ __forceinline__ double dev_uniform(uint64_t seed, uint64_t counter) {
  return static_cast<double>(dev_hash(seed, counter) >> 11) * (1.0 / 9007199254740992.0);
}

template <typename T>
__global__ void dropout_mask_kernel(T* mask, int64_t n, double p, uint64_t seed, uint64_t counter,
                                    T keep_scale) {
  ASR_GRID_STRIDE(i, n)
    mask[i] = dev_uniform(seed, counter + static_cast<uint64_t>(i)) >= p ? keep_scale : T(0);
}

}  // namespace

void CudaBackend::dropout_mask(double p, uint64_t seed, uint64_t counter, Tensor& mask) {
  ASR_CHECK(mask.is_contiguous(), "dropout_mask", "mask ", mask.describe(), " must be contiguous");
  const int64_t n = mask.numel();
  if (n == 0) return;
  DeviceGuard guard(device_);
  dispatch_float(mask.dtype(), "dropout_mask", [&](auto tag) {
    using T = decltype(tag);
    const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
    dropout_mask_kernel<T><<<blocks_for(n), kThreads>>>(mask.data<T>(), n, p, seed, counter,
                                                        keep_scale);
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace asr::cuda
