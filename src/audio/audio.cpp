// load_audio as NeMo's AudioSegment.from_file(target_sr=..., channel_selector="average") reads a
// file: soundfile's float32 read (libsndfile scales int PCM by 1/2^(bits-1)), seek/read in whole
// samples of the file's rate, mean over channels in f32, then resample.
#include "asr/audio/audio.h"

#include <sndfile.h>

#include <filesystem>
#include <memory>
#include <system_error>

#include "asr/core/error.h"
#include "resample.h"

namespace asr::audio {
namespace {

struct SndCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw Error("audio: " + path + ": " + why);
}

}  // namespace

Audio load_audio(const std::string& path, int64_t target_rate, double offset, double duration) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(path, "no such file");
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, not an audio file");
  if (target_rate <= 0)
    fail(path, str_cat("target sample rate must be positive, got ", target_rate));
  if (!(offset >= 0.0) || !(duration >= 0.0))
    fail(path,
         str_cat("offset and duration must be >= 0 seconds, got ", offset, " and ", duration));

  SF_INFO info{};
  std::unique_ptr<SNDFILE, SndCloser> f(sf_open(path.c_str(), SFM_READ, &info));
  if (!f) fail(path, std::string("not a readable audio file (") + sf_strerror(nullptr) + ")");
  if (info.channels < 1 || info.samplerate < 1)
    fail(path, str_cat("bad header: ", info.channels, " channels at ", info.samplerate, " Hz"));
  const int64_t rate = info.samplerate, channels = info.channels;

  // Python's int(seconds * rate): truncation toward zero.
  const int64_t start = static_cast<int64_t>(offset * static_cast<double>(rate));
  if (start > 0) {
    if (info.frames >= 0 && start >= info.frames)
      fail(path, str_cat("offset ", offset, " s is at or beyond the end (", info.frames,
                         " samples at ", rate, " Hz)"));
    if (sf_seek(f.get(), start, SEEK_SET) < 0) fail(path, str_cat("cannot seek to sample ", start));
  }
  const int64_t wanted =
      duration > 0 ? static_cast<int64_t>(duration * static_cast<double>(rate)) : -1;

  // Read in chunks rather than trusting the header's frame count (truncated files).
  std::vector<float> interleaved;
  std::vector<float> chunk(static_cast<size_t>(65536 * channels));
  int64_t got = 0;
  while (wanted < 0 || got < wanted) {
    sf_count_t ask = 65536;
    if (wanted >= 0) ask = std::min<sf_count_t>(ask, wanted - got);
    const sf_count_t n = sf_readf_float(f.get(), chunk.data(), ask);
    if (n <= 0) break;
    interleaved.insert(interleaved.end(), chunk.begin(), chunk.begin() + n * channels);
    got += n;
  }
  if (sf_error(f.get()) != SF_ERR_NO_ERROR)
    fail(path, std::string("read error: ") + sf_strerror(f.get()));
  if (got == 0)
    fail(path,
         offset > 0 || duration > 0 ? "no samples in the requested range" : "no audio samples");

  Audio out;
  out.sample_rate = rate;
  if (channels == 1) {
    out.samples = std::move(interleaved);
  } else {
    // numpy's mean(axis=-1) on f32: f32 sum in channel order, then divide by the count.
    out.samples.resize(static_cast<size_t>(got));
    const float count = static_cast<float>(channels);
    for (int64_t i = 0; i < got; ++i) {
      const float* s = interleaved.data() + i * channels;
      float acc = s[0];
      for (int64_t c = 1; c < channels; ++c) acc += s[c];
      out.samples[i] = acc / count;
    }
  }
  if (rate != target_rate) {
    out.samples = detail::resample(out.samples, rate, target_rate, path);
    out.sample_rate = target_rate;
  }
  return out;
}

}  // namespace asr::audio

namespace asr::audio {
const char* resampler_name() { return detail::resampler_name(); }
}  // namespace asr::audio
