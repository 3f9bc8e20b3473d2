// The AVX2 instantiations of the generic exp-based kernels (cpu_vec_lanes.h). This is the one
// file built with -mavx2 (CMakeLists.txt); it holds only templates instantiated on Avx2Lanes and
// the three entry points, so no AVX2 code can stand in for a baseline inline function elsewhere.
// Callers check avx2::enabled() first (cpu_vec_dispatch.cpp).
#include <immintrin.h>

#include "cpu_vec_avx2.h"
#include "cpu_vec_lanes.h"

namespace asr::cpu::avx2 {
namespace {

struct Avx2Lanes {
  using V = __m256;
  using I = __m256i;
  static constexpr int64_t kWidth = 8;
  static V set1(float v) { return _mm256_set1_ps(v); }
  static V zero() { return _mm256_setzero_ps(); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }  // same NaN rule as minps: the second
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OS); }  // cmpltps/cmpgtps semantics
  static V unord(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
  static V and_(V a, V b) { return _mm256_and_ps(a, b); }
  static V or_(V a, V b) { return _mm256_or_ps(a, b); }
  static V andnot(V a, V b) { return _mm256_andnot_ps(a, b); }
  static I cvtt(V a) { return _mm256_cvttps_epi32(a); }
  static I cvt(V a) { return _mm256_cvtps_epi32(a); }
  static V to_float(I a) { return _mm256_cvtepi32_ps(a); }
  static I i_set1(int v) { return _mm256_set1_epi32(v); }
  static I i_add(I a, I b) { return _mm256_add_epi32(a, b); }
  static I i_sub(I a, I b) { return _mm256_sub_epi32(a, b); }
  static I i_srai1(I a) { return _mm256_srai_epi32(a, 1); }
  static I i_shl23(I a) { return _mm256_slli_epi32(a, 23); }
  static V as_float(I a) { return _mm256_castsi256_ps(a); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
};

}  // namespace

void exp_map(lanes::ExpMap kind, const float* x, float* y, int64_t n) {
  lanes::exp_map_of_kind<Avx2Lanes>(kind, x, y, n);
}

void silu_backward(const float* x, const float* gy, float* gx, int64_t n) {
  lanes::silu_backward<Avx2Lanes>(x, gy, gx, n);
}

void bias_silu(const float* x, const float* bias, const float* gy, float* out, int64_t n) {
  lanes::bias_silu<Avx2Lanes>(x, bias, gy, out, n);
}

}  // namespace asr::cpu::avx2
