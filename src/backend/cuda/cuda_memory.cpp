// Fills, copies (any strides, any dtype pair: copy_kernels.cu) and host transfers.
#include <cstring>

#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_kernels.h"

namespace asr::cuda {

namespace {

// The bit pattern of `value` stored as one element of dtype t (same conversions as the CPU).
uint64_t element_pattern(DType t, double value) {
  uint64_t bits = 0;
  switch (t) {
    case DType::F32: { float f = static_cast<float>(value); std::memcpy(&bits, &f, 4); break; }
    case DType::F64: std::memcpy(&bits, &value, 8); break;
    case DType::BF16: bits = float_to_bf16(static_cast<float>(value)); break;
    case DType::F16: bits = float_to_f16(static_cast<float>(value)); break;
    case DType::I32: { int32_t i = static_cast<int32_t>(value); std::memcpy(&bits, &i, 4); break; }
    case DType::I64: { int64_t i = static_cast<int64_t>(value); std::memcpy(&bits, &i, 8); break; }
    case DType::Bool: bits = value != 0.0 ? 1 : 0; break;
  }
  return bits;
}

}  // namespace

void CudaBackend::copy(const Tensor& src, Tensor& dst) {
  ASR_CHECK(src.shape() == dst.shape(), "copy", "shape mismatch ", src.describe(), " -> ",
            dst.describe());
  if (src.numel() == 0) return;
  DeviceGuard guard(device_);
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
    // Async on the legacy default stream: ordered with the kernels, no host stall.
    CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), src.nbytes(),
                               cudaMemcpyDeviceToDevice, nullptr));
    return;
  }
  const Shape* st[2] = {&src.strides(), &dst.strides()};
  launch_copy(src.raw_data(), src.dtype(), dst.raw_data(), dst.dtype(),
              make_layout<2>(src.shape(), st, "copy"), src.numel());
}

void CudaBackend::fill(Tensor& dst, double value) {
  if (dst.numel() == 0) return;
  DeviceGuard guard(device_);
  const uint64_t pattern = element_pattern(dst.dtype(), value);
  if (!dst.is_contiguous()) {
    const Shape* st[1] = {&dst.strides()};
    launch_fill_strided(dst.raw_data(), dtype_size(dst.dtype()), pattern,
                        make_layout<1>(dst.shape(), st, "fill"), dst.numel());
    return;
  }
  if (pattern == 0) {
    CUDA_CHECK(cudaMemsetAsync(dst.raw_data(), 0, dst.nbytes(), nullptr));
    return;
  }
  launch_fill(dst.raw_data(), dst.numel(), dtype_size(dst.dtype()), pattern);
}

void CudaBackend::copy_from_host(const void* host, Tensor& dst) {
  ASR_CHECK(dst.is_contiguous(), "copy_from_host", "destination ", dst.describe(),
            " must be contiguous");
  if (dst.numel() == 0) return;
  DeviceGuard guard(device_);
  staging_.upload(dst.raw_data(), host, dst.nbytes());
}

void CudaBackend::copy_to_host(const Tensor& src, void* host) {
  ASR_CHECK(src.is_contiguous(), "copy_to_host", "source ", src.describe(),
            " must be contiguous");
  if (src.numel() == 0) return;
  DeviceGuard guard(device_);
  staging_.download(host, src.raw_data(), src.nbytes());
}

}  // namespace asr::cuda
