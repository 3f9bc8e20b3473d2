// The feature extractor's vectorised log (src/audio/vec_log.h) against the exact log: within 2 ulp
// over the positive normal floats, libm's results for the special values, the same answer for
// an element wherever it sits (vector body or padded tail).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "audio/vec_log.h"

namespace asr::audio::detail {
namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Distance in units in the last place between a float result and the exact value.
double ulp_error(float got, double exact) {
  const double ulp = std::ldexp(1.0, std::ilogb(static_cast<float>(exact)) - 23);
  return std::fabs(static_cast<double>(got) - exact) / ulp;
}

TEST(VecLog, WithinOneUlpOverThePositiveNormalFloats) {
  std::vector<float> x;
  for (uint64_t u = 0x00800000u; u < 0x7f800000u; u += 4099) x.push_back(from_bits(static_cast<uint32_t>(u)));
  for (float v : {1.0f, 0.5f, 2.0f, 0.70710677f, 0.70710683f, 1.4142135f, 5.96046448e-8f,
                  std::numeric_limits<float>::min(), std::numeric_limits<float>::max()})
    x.push_back(v);
  for (int i = -2000; i <= 2000; ++i) x.push_back(1.0f + static_cast<float>(i) * 1e-4f);  // around log = 0
  std::vector<float> y(x.size());
  log_floats(x.data(), y.data(), static_cast<int64_t>(x.size()));
  double worst = 0;
  size_t worst_at = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double exact = std::log(static_cast<double>(x[i]));
    if (exact == 0.0) {
      EXPECT_EQ(y[i], 0.0f) << "log(1)";
      continue;
    }
    const double e = ulp_error(y[i], exact);
    if (e > worst) worst = e, worst_at = i;
  }
  std::printf("  vec log: worst error %.2f ulp at x = %.9g over %zu values\n", worst, x[worst_at], x.size());
  EXPECT_LE(worst, 1.0);
}

TEST(VecLog, SpecialValuesAreLibmsAndDoNotDisturbTheirNeighbours) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float denormal = std::numeric_limits<float>::denorm_min() * 1000;
  const std::vector<float> x = {0.0f, -0.0f, -1.0f, inf, nan, denormal, -inf, 2.0f};
  std::vector<float> y(x.size());
  log_floats(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = std::log(x[i]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(y[i])) << "log(" << x[i] << ")";
    } else {
      EXPECT_EQ(y[i], want) << "log(" << x[i] << ")";
    }
  }
}

TEST(VecLog, AnElementGetsTheSameLogInTheBodyAndInTheTail) {
  std::vector<float> x;
  for (int i = 0; i < 11; ++i) x.push_back(0.37f + 3.1f * static_cast<float>(i));
  std::vector<float> all(x.size());
  log_floats(x.data(), all.data(), static_cast<int64_t>(x.size()));
  for (size_t n = 1; n <= x.size(); ++n) {  // every length: tails of 0 to 3
    std::vector<float> part(n);
    log_floats(x.data(), part.data(), static_cast<int64_t>(n));
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(part[i], all[i]) << "n " << n << " i " << i;
  }
  std::vector<float> in_place = x;  // dst == src
  log_floats(in_place.data(), in_place.data(), static_cast<int64_t>(in_place.size()));
  EXPECT_EQ(in_place, all);
}

}  // namespace
}  // namespace asr::audio::detail
