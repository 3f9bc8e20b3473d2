// Copies (with dtype conversion and arbitrary strides), fills and host transfers.
#include <cstring>

#include "cpu_backend.h"
#include "cpu_common.h"

namespace asr::cpu {

namespace {

// Element read/write through double for the conversion path (exact for every dtype we hold:
// f64 holds all i32 values and i64 up to 2^53).
inline double load(const char* p, DType t) {
  switch (t) {
    case DType::F32: return *reinterpret_cast<const float*>(p);
    case DType::F64: return *reinterpret_cast<const double*>(p);
    case DType::BF16: return bf16_to_float(*reinterpret_cast<const uint16_t*>(p));
    case DType::F16: return f16_to_float(*reinterpret_cast<const uint16_t*>(p));
    case DType::I32: return *reinterpret_cast<const int32_t*>(p);
    case DType::I64: return static_cast<double>(*reinterpret_cast<const int64_t*>(p));
    case DType::Bool: return *reinterpret_cast<const uint8_t*>(p) ? 1.0 : 0.0;
  }
  return 0;
}

inline void store(char* p, DType t, double v) {
  switch (t) {
    case DType::F32: *reinterpret_cast<float*>(p) = static_cast<float>(v); return;
    case DType::F64: *reinterpret_cast<double*>(p) = v; return;
    case DType::BF16: *reinterpret_cast<uint16_t*>(p) = float_to_bf16(static_cast<float>(v)); return;
    case DType::F16: *reinterpret_cast<uint16_t*>(p) = float_to_f16(static_cast<float>(v)); return;
    case DType::I32: *reinterpret_cast<int32_t*>(p) = static_cast<int32_t>(v); return;
    case DType::I64: *reinterpret_cast<int64_t*>(p) = static_cast<int64_t>(v); return;
    case DType::Bool: *reinterpret_cast<uint8_t*>(p) = v != 0.0; return;
  }
}

}  // namespace

void CpuBackend::copy(const Tensor& src, Tensor& dst) {
  ASR_CHECK(src.shape() == dst.shape(), "copy", "shape mismatch ", src.describe(), " -> ",
            dst.describe());
  if (src.numel() == 0) return;
  const size_t es = dtype_size(src.dtype()), ed = dtype_size(dst.dtype());
  const char* s = static_cast<const char*>(src.raw_data());
  char* d = static_cast<char*>(dst.raw_data());
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
    std::memmove(d, s, src.nbytes());
    return;
  }
  const Shape* st[2] = {&src.strides(), &dst.strides()};
  const DType ts = src.dtype(), td = dst.dtype();
  const bool same = ts == td;
  // Rows split across threads (transposes and head splits are a few percent of a step); a row
  // that is contiguous on both sides is one memcpy.
  parallel_for_each_row<2>(src.shape(), st, [&](const int64_t* off, int64_t n, const int64_t* inc) {
    const char* ps = s + off[0] * static_cast<int64_t>(es);
    char* pd = d + off[1] * static_cast<int64_t>(ed);
    const int64_t is = inc[0] * static_cast<int64_t>(es), id = inc[1] * static_cast<int64_t>(ed);
    if (same && inc[0] == 1 && inc[1] == 1) {
      std::memmove(pd, ps, static_cast<size_t>(n) * es);
    } else if (same && ts == DType::F32) {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<float*>(pd + i * id) = *reinterpret_cast<const float*>(ps + i * is);
    } else if (same) {
      for (int64_t i = 0; i < n; ++i) std::memcpy(pd + i * id, ps + i * is, es);
    } else {
      for (int64_t i = 0; i < n; ++i) store(pd + i * id, td, load(ps + i * is, ts));
    }
  });
}

void CpuBackend::fill(Tensor& dst, double value) {
  if (dst.numel() == 0) return;
  const size_t ed = dtype_size(dst.dtype());
  char* d = static_cast<char*>(dst.raw_data());
  if (value == 0.0 && dst.is_contiguous()) {
    std::memset(d, 0, dst.nbytes());
    return;
  }
  alignas(8) char pattern[8];
  store(pattern, dst.dtype(), value);
  const Shape* st[1] = {&dst.strides()};
  for_each_row<1>(dst.shape(), st, [&](const int64_t* off, int64_t n, const int64_t* inc) {
    char* pd = d + off[0] * static_cast<int64_t>(ed);
    for (int64_t i = 0; i < n; ++i) std::memcpy(pd + i * inc[0] * static_cast<int64_t>(ed), pattern, ed);
  });
}

void CpuBackend::copy_from_host(const void* host, Tensor& dst) {
  std::memcpy(dst.raw_data(), host, dst.nbytes());
}

void CpuBackend::copy_to_host(const Tensor& src, void* host) {
  std::memcpy(host, src.raw_data(), src.nbytes());
}

}  // namespace asr::cpu
