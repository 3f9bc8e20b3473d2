// Picks the width of the exp-based f32 kernels once per process: AVX2 where the CPU has it
// (unless ASR_CPU_SIMD=sse2), SSE2 otherwise. Both widths give the same bits (cpu_vec_lanes.h).
#include <cstdlib>
#include <cstring>

#include "cpu_vec_avx2.h"
#include "cpu_vec_exp.h"

namespace asr::cpu {

namespace avx2 {
bool enabled() {
  static const bool on = [] {
    const char* simd = std::getenv("ASR_CPU_SIMD");
    if (simd && std::strcmp(simd, "sse2") == 0) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return on;
}
}  // namespace avx2

namespace vec {

void exp_map_sse2(lanes::ExpMap kind, const float* x, float* y, int64_t n) {
  lanes::exp_map_of_kind<Sse2Lanes>(kind, x, y, n);
}
void silu_backward_sse2(const float* x, const float* gy, float* gx, int64_t n) {
  lanes::silu_backward<Sse2Lanes>(x, gy, gx, n);
}
void bias_silu_sse2(const float* x, const float* bias, const float* gy, float* out, int64_t n) {
  lanes::bias_silu<Sse2Lanes>(x, bias, gy, out, n);
}

void exp_map(lanes::ExpMap kind, const float* x, float* y, int64_t n) {
  if (avx2::enabled()) return avx2::exp_map(kind, x, y, n);
  exp_map_sse2(kind, x, y, n);
}
void silu_backward(const float* x, const float* gy, float* gx, int64_t n) {
  if (avx2::enabled()) return avx2::silu_backward(x, gy, gx, n);
  silu_backward_sse2(x, gy, gx, n);
}
void bias_silu(const float* x, const float* bias, const float* gy, float* out, int64_t n) {
  if (avx2::enabled()) return avx2::bias_silu(x, bias, gy, out, n);
  bias_silu_sse2(x, bias, gy, out, n);
}

}  // namespace vec
}  // namespace asr::cpu
