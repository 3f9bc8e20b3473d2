#pragma once
// Element types a Tensor can hold. Float kernels run in F32 (training) and F64 (gradient checks);
// BF16/F16 are storage types converted on copy (the CUDA issue adds native half kernels).
#include <cstddef>
#include <cstdint>
#include <string>

namespace asr {

enum class DType : uint8_t { F32, F64, BF16, F16, I32, I64, Bool };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
bool is_floating(DType t);  // F32, F64, BF16, F16
bool is_integral(DType t);  // I32, I64, Bool

// Conversions between IEEE binary32 and the two 16-bit formats (round to nearest even).
uint16_t float_to_bf16(float f);
float bf16_to_float(uint16_t h);
uint16_t float_to_f16(float f);
float f16_to_float(uint16_t h);

}  // namespace asr
