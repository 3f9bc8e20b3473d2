// Strided copies with dtype conversion. Conversions go through double with the CPU backend's
// exact rules (asr/core/half_bits.h, shared with the CPU), so a converted copy is bitwise
// identical on both backends.
#include <cuda_runtime.h>

#include "asr/core/half_bits.h"
#include "cuda_check.h"
#include "cuda_device.cuh"
#include "cuda_kernels.h"

namespace asr::cuda {

namespace {

// Element i of a buffer of dtype t, as double (exact for every dtype: see cpu_memory.cpp).
__device__ double load_elem(const void* base, DType t, int64_t i) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(base)[i];
    case DType::F64: return static_cast<const double*>(base)[i];
    case DType::BF16: return half_bits::bf16_to_float(static_cast<const uint16_t*>(base)[i]);
    case DType::F16: return half_bits::f16_to_float(static_cast<const uint16_t*>(base)[i]);
    case DType::I32: return static_cast<const int32_t*>(base)[i];
    case DType::I64: return static_cast<double>(static_cast<const int64_t*>(base)[i]);
    case DType::Bool: return static_cast<const uint8_t*>(base)[i] ? 1.0 : 0.0;
  }
  return 0;
}

__device__ void store_elem(void* base, DType t, int64_t i, double v) {
  switch (t) {
    case DType::F32: static_cast<float*>(base)[i] = static_cast<float>(v); return;
    case DType::F64: static_cast<double*>(base)[i] = v; return;
    case DType::BF16: static_cast<uint16_t*>(base)[i] = half_bits::float_to_bf16(static_cast<float>(v)); return;
    case DType::F16: static_cast<uint16_t*>(base)[i] = half_bits::float_to_f16(static_cast<float>(v)); return;
    case DType::I32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(v); return;
    case DType::I64: static_cast<int64_t*>(base)[i] = static_cast<int64_t>(v); return;
    case DType::Bool: static_cast<uint8_t*>(base)[i] = v != 0.0 ? 1 : 0; return;
  }
}

// Same dtype: move the element bits (E has the element's size).
template <typename E>
__global__ void copy_same_kernel(const E* src, E* dst, Layout<2> l, int64_t n) {
  ASR_GRID_STRIDE(i, n) {
    int64_t off[2];
    strided_offsets(l, i, off);
    dst[off[1]] = src[off[0]];
  }
}

__global__ void copy_convert_kernel(const void* src, DType ts, void* dst, DType td, Layout<2> l,
                                    int64_t n) {
  ASR_GRID_STRIDE(i, n) {
    int64_t off[2];
    strided_offsets(l, i, off);
    store_elem(dst, td, off[1], load_elem(src, ts, off[0]));
  }
}

}  // namespace

void launch_copy(const void* src, DType ts, void* dst, DType td, const Layout<2>& l, int64_t n) {
  if (n <= 0) return;
  const unsigned g = blocks_for(n);
  if (ts == td) {
    switch (dtype_size(ts)) {
      case 1: copy_same_kernel<<<g, kThreads>>>(static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), l, n); break;
      case 2: copy_same_kernel<<<g, kThreads>>>(static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst), l, n); break;
      case 4: copy_same_kernel<<<g, kThreads>>>(static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst), l, n); break;
      case 8: copy_same_kernel<<<g, kThreads>>>(static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst), l, n); break;
      default: throw Error(str_cat("copy: unsupported element size ", dtype_size(ts), " on CUDA"));
    }
  } else {
    copy_convert_kernel<<<g, kThreads>>>(src, ts, dst, td, l, n);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace asr::cuda
