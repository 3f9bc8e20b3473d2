#include "asr/core/generator.h"

#include <cmath>

namespace asr {

uint64_t Generator::hash(uint64_t seed, uint64_t counter) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + counter * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double Generator::uniform(uint64_t seed, uint64_t counter) {
  return static_cast<double>(hash(seed, counter) >> 11) * (1.0 / 9007199254740992.0);
}

double Generator::normal(uint64_t seed, uint64_t counter) {
  // Box-Muller from two independent uniforms derived from the same counter.
  double u1 = uniform(seed, 2 * counter);
  double u2 = uniform(seed, 2 * counter + 1);
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace asr
