// Strided copies with dtype conversion. Conversions go through double with the CPU backend's
// exact rules (float_to_bf16 / float_to_f16 bit manipulations repeated here on the device), so
// a converted copy is bitwise identical on both backends.
#include <cuda_runtime.h>

#include "cuda_check.h"
#include "cuda_device.cuh"
#include "cuda_kernels.h"

namespace asr::cuda {

namespace {

// ---- the 16-bit formats, bit for bit as src/core/dtype.cpp --------------------------------

__device__ uint16_t dev_float_to_bf16(float f) {
  uint32_t u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}

__device__ float dev_bf16_to_float(uint16_t h) {
  return __uint_as_float(static_cast<uint32_t>(h) << 16);
}

__device__ uint16_t dev_float_to_f16(float f) {
  const uint32_t x = __float_as_uint(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t mant = x & 0x7fffffu;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff);
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
  exp = exp - 127 + 15;
  if (exp >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (exp <= 0) {                                                  // subnormal or zero
    if (exp < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const uint32_t shift = static_cast<uint32_t>(14 - exp);
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u);
    const uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;  // may carry into exponent: ok
  return static_cast<uint16_t>(half);
}

__device__ float dev_f16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) { mant <<= 1; --exp; }
      mant &= 0x3ffu;
      u = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  return __uint_as_float(u);
}

// Element i of a buffer of dtype t, as double (exact for every dtype: see cpu_memory.cpp).
__device__ double load_elem(const void* base, DType t, int64_t i) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(base)[i];
    case DType::F64: return static_cast<const double*>(base)[i];
    case DType::BF16: return dev_bf16_to_float(static_cast<const uint16_t*>(base)[i]);
    case DType::F16: return dev_f16_to_float(static_cast<const uint16_t*>(base)[i]);
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
    case DType::BF16: static_cast<uint16_t*>(base)[i] = dev_float_to_bf16(static_cast<float>(v)); return;
    case DType::F16: static_cast<uint16_t*>(base)[i] = dev_float_to_f16(static_cast<float>(v)); return;
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
