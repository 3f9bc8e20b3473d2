#pragma once
// Counter-based random numbers: value i of a draw depends only on (seed, stream offset, i), so
// results are identical for any thread count and any chunking of the work (dropout, init).
#include <cstdint>

namespace asr {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed; offset_ = offset; }
  // Reserves `n` consecutive counters and returns the first one.
  uint64_t reserve(uint64_t n) { uint64_t o = offset_; offset_ += n; return o; }

  static uint64_t hash(uint64_t seed, uint64_t counter);           // splitmix64 mix
  static double uniform(uint64_t seed, uint64_t counter);          // [0, 1)
  static double normal(uint64_t seed, uint64_t counter);           // N(0, 1), Box-Muller

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

}  // namespace asr
