#pragma once
// The exp-based f32 kernels eight lanes at a time (AVX2), chosen at run time where the CPU has
// AVX2. Same results as the SSE2 kernels to the bit (see cpu_vec_lanes.h), so the choice never
// changes a number. ASR_CPU_SIMD=sse2 keeps the SSE2 kernels (to compare the two).
#include <cstdint>

#include "cpu_vec_lanes.h"  // templates only: nothing here is compiled for AVX2 elsewhere

namespace asr::cpu::avx2 {

// Whether the AVX2 kernels run here: the CPU has AVX2 and ASR_CPU_SIMD is not "sse2".
bool enabled();

// y = e^x, sigmoid(x) or silu(x).
void exp_map(lanes::ExpMap kind, const float* x, float* y, int64_t n);
// gx = gy * silu'(x).
void silu_backward(const float* x, const float* gy, float* gx, int64_t n);
// out = silu(x + bias) (gy null) or gy * silu'(x + bias).
void bias_silu(const float* x, const float* bias, const float* gy, float* out, int64_t n);

}  // namespace asr::cpu::avx2
