#include "resample.h"

#include <soxr.h>

#include <algorithm>
#include <memory>

#include "asr/core/error.h"

namespace asr::audio::detail {

const char* resampler_name() { return "soxr-hq"; }

namespace {
struct SoxrDeleter {
  void operator()(soxr_t s) const { soxr_delete(s); }
};
// Input frames per soxr_process call. soxr_oneshot hands soxr the whole signal at once, and its
// input FIFO then moves the unread remainder after every block: quadratic in the length (a
// third of the sharding time went into that memmove). Streaming gives the same samples: soxr
// is a streaming filter, and python-soxr's resample() streams too.
constexpr size_t kChunkFrames = 1 << 15;
}  // namespace

std::vector<float> resample(const std::vector<float>& in, int64_t from, int64_t to,
                            const std::string& what) {
  ASR_CHECK(from > 0 && to > 0, "audio", "cannot resample ", what, " from ", from, " Hz to ", to,
            " Hz");
  const int64_t n_out = (static_cast<int64_t>(in.size()) * to + from - 1) / from;  // ceil
  std::vector<float> out(static_cast<size_t>(n_out), 0.0f);  // zero tail = librosa's fix_length
  // python-soxr's resample(quality='HQ') on f32: f32 interleaved in and out, one thread.
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  const soxr_runtime_spec_t rt = soxr_runtime_spec(1);
  soxr_error_t err = nullptr;
  std::unique_ptr<soxr, SoxrDeleter> s(
      soxr_create(static_cast<double>(from), static_cast<double>(to), 1, &err, &io, &q, &rt));
  if (err || !s) throw Error("audio: soxr: " + std::string(err ? err : "cannot create") + " (" + what + ")");

  size_t done = 0;
  auto process = [&](const float* src, size_t n) {  // n == 0 with src == nullptr: flush
    do {
      size_t used = 0, made = 0;
      err = soxr_process(s.get(), src, n, &used, out.data() + done, out.size() - done, &made);
      if (err) throw Error("audio: soxr: " + std::string(err) + " (" + what + ")");
      done += made;
      if (src) src += used;
      n -= used;
      // Stop when the output is full, or when soxr neither took input nor gave output.
      if (done == out.size() || (used == 0 && made == 0)) break;
    } while (n > 0 || !src);
  };
  for (size_t i = 0; i < in.size() && done < out.size(); i += kChunkFrames)
    process(in.data() + i, std::min(kChunkFrames, in.size() - i));
  if (done < out.size()) process(nullptr, 0);
  return out;
}

}  // namespace asr::audio::detail
