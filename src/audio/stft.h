#pragma once
// One real-to-complex FFT of fixed size, planned once and executed from any thread: FFTW's
// planner is not thread-safe (plans are made and destroyed under a global mutex), while
// fftwf_execute_dft_r2c on caller-owned arrays of the plan's alignment is.
#include <fftw3.h>

#include <cstdint>
#include <memory>

namespace asr::audio::detail {

// fftwf_malloc'ed floats (SIMD-aligned like the arrays the plan was made on).
struct FftwFree {
  void operator()(void* p) const { fftwf_free(p); }
};
using FftwBuffer = std::unique_ptr<float[], FftwFree>;
FftwBuffer fftw_floats(int64_t n);

class RealFft {
 public:
  explicit RealFft(int64_t n);
  ~RealFft();
  RealFft(const RealFft&) = delete;
  RealFft& operator=(const RealFft&) = delete;

  int64_t size() const { return n_; }
  // in: n floats; out: n/2+1 interleaved (re, im) pairs. Both from fftw_floats(); `in` is kept.
  void forward(float* in, float* out) const;

 private:
  int64_t n_;
  fftwf_plan plan_ = nullptr;
};

}  // namespace asr::audio::detail
