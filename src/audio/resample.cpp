#include "resample.h"

#include <soxr.h>

#include "asr/core/error.h"

namespace asr::audio::detail {

const char* resampler_name() { return "soxr-hq"; }

std::vector<float> resample(const std::vector<float>& in, int64_t from, int64_t to,
                            const std::string& what) {
  ASR_CHECK(from > 0 && to > 0, "audio", "cannot resample ", what, " from ", from, " Hz to ", to,
            " Hz");
  const int64_t n_out = (static_cast<int64_t>(in.size()) * to + from - 1) / from;  // ceil
  std::vector<float> out(static_cast<size_t>(n_out), 0.0f);  // zero tail = librosa's fix_length
  // python-soxr's resample(quality='HQ') on f32: one-shot, f32 interleaved in and out.
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  size_t done = 0;
  const soxr_error_t err =
      soxr_oneshot(static_cast<double>(from), static_cast<double>(to), 1, in.data(), in.size(),
                   nullptr, out.data(), out.size(), &done, &io, &q, nullptr);
  if (err) throw Error("audio: soxr: " + std::string(err) + " (" + what + ")");
  return out;
}

}  // namespace asr::audio::detail
