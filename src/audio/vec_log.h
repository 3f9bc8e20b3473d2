#pragma once
// Natural log for f32, four lanes at a time with SSE2 (the x86-64 baseline). The log of every
// mel energy was a tenth of feature extraction as one libm call each. x = m 2^e with m in
// [sqrt(1/2), sqrt(2)); log(m) = f - f^2/2 + f^3 P(f), f = m - 1, with Cephes' degree-8 P;
// e ln2 added in two parts (exact high part first). Within 1 ulp of the true log for normal
// positive x (tests/audio/test_vec_log.cpp). Lanes that are not finite, positive and normal
// (0, negatives, denormals, inf, NaN) go through std::log, so special values are libm's.
#include <emmintrin.h>

#include <cmath>
#include <cstdint>

namespace asr::audio::detail {

inline __m128 log_ps_normal(__m128 x) {  // x finite, positive, normal
  const __m128i bits = _mm_castps_si128(x);
  __m128i e = _mm_sub_epi32(_mm_srli_epi32(bits, 23), _mm_set1_epi32(126));  // x = m 2^e, m in [0.5, 1)
  __m128 m = _mm_castsi128_ps(_mm_or_si128(_mm_and_si128(bits, _mm_set1_epi32(0x007fffff)),
                                           _mm_set1_epi32(0x3f000000)));
  // m < sqrt(1/2): use 2m and e - 1, so that f = m - 1 lies in [-0.293, 0.414].
  const __m128 small = _mm_cmplt_ps(m, _mm_set1_ps(0.707106781186547524f));
  e = _mm_add_epi32(e, _mm_castps_si128(small));  // the mask is -1 where small
  const __m128 f = _mm_sub_ps(_mm_add_ps(m, _mm_and_ps(small, m)), _mm_set1_ps(1.0f));
  const __m128 fe = _mm_cvtepi32_ps(e);
  const __m128 z = _mm_mul_ps(f, f);
  __m128 p = _mm_set1_ps(7.0376836292e-2f);
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(-1.1514610310e-1f));
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(1.1676998740e-1f));
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(-1.2420140846e-1f));
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(1.4249322787e-1f));
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(-1.6668057665e-1f));
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(2.0000714765e-1f));
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(-2.4999993993e-1f));
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(3.3333331174e-1f));
  __m128 y = _mm_mul_ps(_mm_mul_ps(p, z), f);
  y = _mm_add_ps(y, _mm_mul_ps(fe, _mm_set1_ps(-2.12194440e-4f)));  // ln2's low part
  y = _mm_sub_ps(y, _mm_mul_ps(z, _mm_set1_ps(0.5f)));
  return _mm_add_ps(_mm_add_ps(f, y), _mm_mul_ps(fe, _mm_set1_ps(0.693359375f)));  // ln2's high part
}

// dst[i] = log(src[i]) for i < n (dst may equal src). A tail of under four goes through a
// padded block, so every element takes the same path wherever it sits.
inline void log_floats(const float* src, float* dst, int64_t n) {
  const __m128 lo = _mm_set1_ps(1.17549435e-38f), hi = _mm_set1_ps(3.40282347e+38f);
  auto block = [&](const float* in, float* out) {
    const __m128 x = _mm_loadu_ps(in);
    // Ordered compares are false for NaN, so NaN lanes take the libm path too.
    const __m128 ok = _mm_and_ps(_mm_cmpge_ps(x, lo), _mm_cmple_ps(x, hi));
    if (_mm_movemask_ps(ok) == 0xf) {
      _mm_storeu_ps(out, log_ps_normal(x));
    } else {
      for (int j = 0; j < 4; ++j) out[j] = std::log(in[j]);
    }
  };
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) block(src + i, dst + i);
  if (i < n) {
    float in[4] = {1.0f, 1.0f, 1.0f, 1.0f}, out[4];
    for (int64_t j = i; j < n; ++j) in[j - i] = src[j];
    block(in, out);
    for (int64_t j = i; j < n; ++j) dst[j] = out[j - i];
  }
}

}  // namespace asr::audio::detail
