#pragma once
// e^x for f32 four lanes at a time with SSE2 (the x86-64 baseline, so every build has it). libm's
// expf is one call per element, and the exp-based activations (Silu, Sigmoid, Exp) and softmax
// were a fifth of a forward pass. x = n ln2 + r with |r| <= ln2/2; e^r by Cephes' degree-6
// polynomial (within 2 ulp of e^x); 2^n applied as two factors so that n in [-150, 128] stays
// representable. Overflow gives +inf, x < -104 gives 0, NaN stays NaN, as expf.
#include <emmintrin.h>

#include <cmath>
#include <cstdint>

namespace asr::cpu {

inline __m128 exp_ps(__m128 x) {
  const __m128 hi = _mm_set1_ps(88.8f), lo = _mm_set1_ps(-104.0f);
  const __m128 nan_mask = _mm_cmpunord_ps(x, x);
  const __m128 over = _mm_cmpgt_ps(x, _mm_set1_ps(88.72283905f));
  const __m128 xc = _mm_max_ps(_mm_min_ps(x, hi), lo);  // NaN lanes become lo (fixed below)
  const __m128 t = _mm_add_ps(_mm_mul_ps(xc, _mm_set1_ps(1.44269504088896341f)), _mm_set1_ps(0.5f));
  __m128i n = _mm_cvttps_epi32(t);
  const __m128 fn0 = _mm_cvtepi32_ps(n);
  const __m128 fix = _mm_and_ps(_mm_cmpgt_ps(fn0, t), _mm_set1_ps(1.0f));  // floor for t < 0
  const __m128 fn = _mm_sub_ps(fn0, fix);
  n = _mm_cvtps_epi32(fn);
  __m128 r = _mm_sub_ps(xc, _mm_mul_ps(fn, _mm_set1_ps(0.693359375f)));
  r = _mm_sub_ps(r, _mm_mul_ps(fn, _mm_set1_ps(-2.12194440e-4f)));
  const __m128 z = _mm_mul_ps(r, r);
  __m128 p = _mm_set1_ps(1.9875691500e-4f);
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.3981999507e-3f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(8.3334519073e-3f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(4.1665795894e-2f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.6666665459e-1f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(5.0000001201e-1f));
  p = _mm_add_ps(_mm_add_ps(_mm_mul_ps(p, z), r), _mm_set1_ps(1.0f));
  const __m128i half = _mm_srai_epi32(n, 1);  // floor(n / 2); the rest, n - half, is in [-75, 64]
  const __m128i bias = _mm_set1_epi32(127);
  const __m128 s1 = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(half, bias), 23));
  const __m128 s2 = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(_mm_sub_epi32(n, half), bias), 23));
  __m128 y = _mm_mul_ps(_mm_mul_ps(p, s1), s2);
  y = _mm_or_ps(_mm_and_ps(over, _mm_set1_ps(__builtin_inff())), _mm_andnot_ps(over, y));
  return _mm_or_ps(_mm_and_ps(nan_mask, x), _mm_andnot_ps(nan_mask, y));
}

// dst[i] = f(e^(sign * src[i]), src[i]) for i < n, in lanes of four (the tail through a padded
// block, so every element takes the same path). f works on __m128 values.
template <typename F>
inline void map_exp(const float* src, float* dst, int64_t n, float sign, F f) {
  const __m128 s = _mm_set1_ps(sign);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m128 x = _mm_loadu_ps(src + i);
    _mm_storeu_ps(dst + i, f(exp_ps(_mm_mul_ps(s, x)), x));
  }
  if (i < n) {
    float in[4] = {0, 0, 0, 0}, out[4];
    for (int64_t j = i; j < n; ++j) in[j - i] = src[j];
    const __m128 x = _mm_loadu_ps(in);
    _mm_storeu_ps(out, f(exp_ps(_mm_mul_ps(s, x)), x));
    for (int64_t j = i; j < n; ++j) dst[j] = out[j - i];
  }
}

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
