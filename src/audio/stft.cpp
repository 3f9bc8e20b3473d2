#include "stft.h"

#include <mutex>

#include "asr/core/error.h"

namespace asr::audio::detail {
namespace {
std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

FftwBuffer fftw_floats(int64_t n) {
  auto* p = static_cast<float*>(fftwf_malloc(sizeof(float) * static_cast<size_t>(n > 0 ? n : 1)));
  if (!p) throw Error(str_cat("fft: cannot allocate ", n, " floats"));
  return FftwBuffer(p);
}

RealFft::RealFft(int64_t n) : n_(n) {
  ASR_CHECK(n >= 2, "fft", "size must be at least 2, got ", n);
  FftwBuffer in = fftw_floats(n), out = fftw_floats(2 * (n / 2 + 1));
  std::lock_guard<std::mutex> lock(planner_mutex());
  // ESTIMATE: no timing runs, so the same algorithm (and rounding) on every run.
  plan_ = fftwf_plan_dft_r2c_1d(static_cast<int>(n), in.get(),
                                reinterpret_cast<fftwf_complex*>(out.get()),
                                FFTW_ESTIMATE | FFTW_PRESERVE_INPUT);
  if (!plan_) throw Error(str_cat("fft: FFTW could not plan a real FFT of size ", n));
}

RealFft::~RealFft() {
  std::lock_guard<std::mutex> lock(planner_mutex());
  fftwf_destroy_plan(plan_);
}

void RealFft::forward(float* in, float* out) const {
  fftwf_execute_dft_r2c(plan_, in, reinterpret_cast<fftwf_complex*>(out));
}

}  // namespace asr::audio::detail
