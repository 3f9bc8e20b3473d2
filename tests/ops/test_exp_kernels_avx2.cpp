// The exp-based f32 kernels run eight lanes wide (AVX2) where the CPU allows and four (SSE2)
// otherwise (src/backend/cpu/cpu_vec_dispatch.cpp). Both widths must give the same bits, or a
// result would depend on the machine: checked on every input class (normal, huge, tiny, zero,
// inf, NaN) at lengths that exercise the full blocks and every tail.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "backend/cpu/cpu_vec_avx2.h"
#include "backend/cpu/cpu_vec_exp.h"

namespace asr::cpu {
namespace {

std::vector<float> inputs(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> wide(-110.0f, 95.0f), narrow(-6.0f, 6.0f);
  const float specials[] = {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                            88.72f, 88.73f, -103.9f, -104.5f, 1e-30f, -1e-30f};
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i)
    x[i] = i % 13 == 0 ? specials[(i / 13) % (sizeof specials / sizeof *specials)] : i % 2 ? wide(rng) : narrow(rng);
  return x;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b, size_t* first_diff) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
      *first_diff = i;
      return false;
    }
  }
  return true;
}

class ExpKernelsAvx2 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "this CPU has no AVX2: only the SSE2 kernels run here";
  }
};

TEST_F(ExpKernelsAvx2, GiveTheSameBitsAsTheSse2Kernels) {
  for (size_t n : {1u, 3u, 4u, 7u, 8u, 9u, 15u, 16u, 17u, 1001u, 4099u}) {
    const std::vector<float> x = inputs(n, 11 + static_cast<unsigned>(n)), g = inputs(n, 5), b = inputs(n, 9);
    std::vector<float> want(n), got(n);
    size_t at = 0;
    for (auto kind : {lanes::ExpMap::Exp, lanes::ExpMap::Sigmoid, lanes::ExpMap::Silu}) {
      vec::exp_map_sse2(kind, x.data(), want.data(), static_cast<int64_t>(n));
      avx2::exp_map(kind, x.data(), got.data(), static_cast<int64_t>(n));
      EXPECT_TRUE(same_bits(want, got, &at)) << "exp_map kind " << static_cast<int>(kind) << " n " << n << " at "
                                             << at << ": x " << x[at] << " sse2 " << want[at] << " avx2 " << got[at];
    }
    vec::silu_backward_sse2(x.data(), g.data(), want.data(), static_cast<int64_t>(n));
    avx2::silu_backward(x.data(), g.data(), got.data(), static_cast<int64_t>(n));
    EXPECT_TRUE(same_bits(want, got, &at)) << "silu_backward n " << n << " at " << at;
    for (const float* gy : {static_cast<const float*>(nullptr), g.data()}) {
      vec::bias_silu_sse2(x.data(), b.data(), gy, want.data(), static_cast<int64_t>(n));
      avx2::bias_silu(x.data(), b.data(), gy, got.data(), static_cast<int64_t>(n));
      EXPECT_TRUE(same_bits(want, got, &at)) << "bias_silu " << (gy ? "backward" : "forward") << " n " << n
                                             << " at " << at;
    }
  }
}

TEST_F(ExpKernelsAvx2, AreTheOnesThatRunHere) {
  // Without ASR_CPU_SIMD=sse2 the dispatcher must pick AVX2 on an AVX2 machine.
  const char* simd = std::getenv("ASR_CPU_SIMD");
  EXPECT_EQ(avx2::enabled(), !(simd && std::strcmp(simd, "sse2") == 0));
}

TEST(ExpKernels, Sse2KernelsMatchTheScalarDefinitions) {
  // The shared lane code against the formulas in double (exp within 2 ulp: relative 3e-7).
  const std::vector<float> x = inputs(1001, 3);
  std::vector<float> e(x.size()), s(x.size()), si(x.size());
  vec::exp_map_sse2(lanes::ExpMap::Exp, x.data(), e.data(), 1001);
  vec::exp_map_sse2(lanes::ExpMap::Sigmoid, x.data(), s.data(), 1001);
  vec::exp_map_sse2(lanes::ExpMap::Silu, x.data(), si.data(), 1001);
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    if (std::isnan(v)) {
      EXPECT_TRUE(std::isnan(e[i]) && std::isnan(s[i]) && std::isnan(si[i]));
      continue;
    }
    const double ee = std::exp(v), ss = 1.0 / (1.0 + std::exp(-v));
    if (std::isfinite(static_cast<float>(ee)) && ee > 1e-37) EXPECT_NEAR(e[i], ee, 3e-7 * ee) << v;
    EXPECT_NEAR(s[i], ss, 3e-7 * ss + 1e-37) << v;
    // x / (1 + e^-x) underflows to -0 once e^-x overflows (x < -88.7), where silu is about -1e-37.
    if (std::isfinite(v)) EXPECT_NEAR(si[i], v * ss, 3e-7 * std::fabs(v * ss) + 1e-36) << v;
  }
}

}  // namespace
}  // namespace asr::cpu
