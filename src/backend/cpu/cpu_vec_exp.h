#pragma once
// e^x for f32 four lanes at a time with SSE2 (the x86-64 baseline, so every build has it). libm's
// expf is one call per element, and the exp-based activations (Silu, Sigmoid, Exp) and softmax
// were a fifth of a forward pass. The algorithm is lanes::exp (cpu_vec_lanes.h), shared with
// the AVX2 kernels: within 2 ulp of e^x; overflow gives +inf, x < -104 gives 0, NaN stays NaN.
#include <emmintrin.h>

#include <cmath>
#include <cstdint>

#include "cpu_vec_lanes.h"

namespace asr::cpu {

// Four f32 lanes, SSE2: the lane type of the generic kernels on every x86-64 machine.
struct Sse2Lanes {
  using V = __m128;
  using I = __m128i;
  static constexpr int64_t kWidth = 4;
  static V set1(float v) { return _mm_set1_ps(v); }
  static V zero() { return _mm_setzero_ps(); }
  static V add(V a, V b) { return _mm_add_ps(a, b); }
  static V sub(V a, V b) { return _mm_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm_mul_ps(a, b); }
  static V div(V a, V b) { return _mm_div_ps(a, b); }
  static V min(V a, V b) { return _mm_min_ps(a, b); }
  static V max(V a, V b) { return _mm_max_ps(a, b); }
  static V gt(V a, V b) { return _mm_cmpgt_ps(a, b); }
  static V unord(V a, V b) { return _mm_cmpunord_ps(a, b); }
  static V and_(V a, V b) { return _mm_and_ps(a, b); }
  static V or_(V a, V b) { return _mm_or_ps(a, b); }
  static V andnot(V a, V b) { return _mm_andnot_ps(a, b); }
  static I cvtt(V a) { return _mm_cvttps_epi32(a); }
  static I cvt(V a) { return _mm_cvtps_epi32(a); }
  static V to_float(I a) { return _mm_cvtepi32_ps(a); }
  static I i_set1(int v) { return _mm_set1_epi32(v); }
  static I i_add(I a, I b) { return _mm_add_epi32(a, b); }
  static I i_sub(I a, I b) { return _mm_sub_epi32(a, b); }
  static I i_srai1(I a) { return _mm_srai_epi32(a, 1); }
  static I i_shl23(I a) { return _mm_slli_epi32(a, 23); }
  static V as_float(I a) { return _mm_castsi128_ps(a); }
  static V load(const float* p) { return _mm_loadu_ps(p); }
  static void store(float* p, V v) { _mm_storeu_ps(p, v); }
};

inline __m128 exp_ps(__m128 x) { return lanes::exp<Sse2Lanes>(x); }

// out[i] = e^(x[i] - shift) for i < n; returns their sum (four partial sums, then added).
inline float exp_shifted_sum(const float* x, float shift, float* out, int64_t n) {
  const __m128 sh = _mm_set1_ps(shift);
  __m128 acc = _mm_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m128 e = exp_ps(_mm_sub_ps(_mm_loadu_ps(x + i), sh));
    _mm_storeu_ps(out + i, e);
    acc = _mm_add_ps(acc, e);
  }
  float lanes[4];
  _mm_storeu_ps(lanes, acc);
  float sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  if (i < n) {
    float in[4] = {shift, shift, shift, shift}, e[4];
    for (int64_t j = i; j < n; ++j) in[j - i] = x[j];
    _mm_storeu_ps(e, exp_ps(_mm_sub_ps(_mm_loadu_ps(in), sh)));
    for (int64_t j = i; j < n; ++j) {
      out[j] = e[j - i];
      sum += e[j - i];
    }
  }
  return sum;
}
inline double exp_shifted_sum(const double* x, double shift, double* out, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += (out[i] = std::exp(x[i] - shift));
  return sum;
}

}  // namespace asr::cpu

namespace asr::cpu::vec {
// The exp-based f32 kernels, eight lanes (AVX2) where the CPU has them, four (SSE2) otherwise;
// bit-identical either way (cpu_vec_dispatch.cpp).
void exp_map(lanes::ExpMap kind, const float* x, float* y, int64_t n);
void silu_backward(const float* x, const float* gy, float* gx, int64_t n);
void bias_silu(const float* x, const float* bias, const float* gy, float* out, int64_t n);
// The same kernels at four lanes whatever the CPU (the reference the AVX2 ones are tested against).
void exp_map_sse2(lanes::ExpMap kind, const float* x, float* y, int64_t n);
void silu_backward_sse2(const float* x, const float* gy, float* gx, int64_t n);
void bias_silu_sse2(const float* x, const float* bias, const float* gy, float* out, int64_t n);
}  // namespace asr::cpu::vec
