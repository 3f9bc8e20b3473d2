#include "asr/core/dtype.h"

#include "asr/core/half_bits.h"

namespace asr {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::BF16: return 2;
    case DType::F16: return 2;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::Bool: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::BF16: return "bf16";
    case DType::F16: return "f16";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::Bool: return "bool";
  }
  return "?";
}

bool is_floating(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::BF16 || t == DType::F16;
}
bool is_integral(DType t) { return !is_floating(t); }

uint16_t float_to_bf16(float f) { return half_bits::float_to_bf16(f); }
float bf16_to_float(uint16_t h) { return half_bits::bf16_to_float(h); }
uint16_t float_to_f16(float f) { return half_bits::float_to_f16(f); }
float f16_to_float(uint16_t h) { return half_bits::f16_to_float(h); }

}  // namespace asr
