// load_audio as NeMo's AudioSegment.from_file(target_sr=..., channel_selector="average") reads a
// file: soundfile's float32 read (libsndfile scales int PCM by 1/2^(bits-1)), seek/read in whole
// samples of the file's rate, mean over channels in f32, then resample.
#include "asr/audio/audio.h"

#include <sndfile.h>

#include <algorithm>
#include <cstring>
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

// libsndfile's virtual I/O over a byte buffer (load_audio_from_memory).
struct MemoryFile {
  const std::string* bytes = nullptr;
  sf_count_t pos = 0;

  static sf_count_t length(void* self) { return static_cast<sf_count_t>(static_cast<MemoryFile*>(self)->bytes->size()); }
  static sf_count_t seek(sf_count_t offset, int whence, void* self) {
    auto* m = static_cast<MemoryFile*>(self);
    const sf_count_t size = static_cast<sf_count_t>(m->bytes->size());
    const sf_count_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? size : 0;
    if (offset < -base || offset > size - base) return -1;
    m->pos = base + offset;
    return m->pos;
  }
  static sf_count_t read(void* dst, sf_count_t count, void* self) {
    auto* m = static_cast<MemoryFile*>(self);
    const sf_count_t n = std::max<sf_count_t>(0, std::min<sf_count_t>(count, static_cast<sf_count_t>(m->bytes->size()) - m->pos));
    if (n > 0) std::memcpy(dst, m->bytes->data() + m->pos, static_cast<size_t>(n));
    m->pos += n;
    return n;
  }
  static sf_count_t write(const void*, sf_count_t, void*) { return 0; }
  static sf_count_t tell(void* self) { return static_cast<MemoryFile*>(self)->pos; }
};

void check_request(const std::string& path, int64_t target_rate, double offset, double duration) {
  if (target_rate <= 0)
    fail(path, str_cat("target sample rate must be positive, got ", target_rate));
  // Bounded so that seconds * rate stays an exact, representable sample count.
  if (!(offset >= 0.0 && offset <= 1e9) || !(duration >= 0.0 && duration <= 1e9))
    fail(path,
         str_cat("offset and duration must be 0 to 1e9 seconds, got ", offset, " and ", duration));
}

Audio read_open_file(SNDFILE* file, const SF_INFO& info, const std::string& path, int64_t target_rate,
                     double offset, double duration) {
  if (info.channels < 1 || info.samplerate < 1)
    fail(path, str_cat("bad header: ", info.channels, " channels at ", info.samplerate, " Hz"));
  // A rate no speech recording has would be resampled by a huge factor (a 4 KB file at 1 Hz
  // asked soxr for 16,000x and hung).
  if (info.samplerate < kMinSampleRate)
    fail(path, str_cat("sample rate ", info.samplerate, " Hz is below the ", kMinSampleRate, " Hz this reader accepts"));
  const int64_t rate = info.samplerate, channels = info.channels;

  // Python's int(seconds * rate): truncation toward zero.
  const int64_t start = static_cast<int64_t>(offset * static_cast<double>(rate));
  if (start > 0) {
    if (info.frames >= 0 && start >= info.frames)
      fail(path, str_cat("offset ", offset, " s is at or beyond the end (", info.frames,
                         " samples at ", rate, " Hz)"));
    if (sf_seek(file, start, SEEK_SET) < 0) fail(path, str_cat("cannot seek to sample ", start));
  }
  const int64_t wanted =
      duration > 0 ? static_cast<int64_t>(duration * static_cast<double>(rate)) : -1;
  // Compressed formats (a FLAC of silence) decode to far more samples than their bytes: one
  // read is capped by duration, and channels are mixed down chunk by chunk.
  const int64_t max_frames = static_cast<int64_t>(kMaxSeconds) * rate;

  // Read in chunks rather than trusting the header's frame count (truncated files).
  // numpy's mean(axis=-1) on f32: f32 sum in channel order, then divide by the count.
  std::vector<float> mono;
  // The header's count sizes the buffer once (a growing vector faults in fresh pages per copy);
  // it is only a hint: a truncated file reads fewer samples, a lying one grows as before.
  int64_t expect = info.frames > start ? info.frames - start : 0;
  if (wanted >= 0) expect = std::min(expect, wanted);
  mono.reserve(static_cast<size_t>(std::min(expect, max_frames)));
  const int64_t chunk_frames = std::max<int64_t>(1, 65536 / channels);  // up to 1024 channels
  std::vector<float> chunk(channels > 1 ? static_cast<size_t>(chunk_frames * channels) : 0);
  const float count = static_cast<float>(channels);
  int64_t got = 0;
  while (wanted < 0 || got < wanted) {
    sf_count_t ask = chunk_frames;
    if (wanted >= 0) ask = std::min<sf_count_t>(ask, wanted - got);
    // A mono file reads straight into the output; more channels go through `chunk`.
    if (channels == 1) mono.resize(static_cast<size_t>(got + ask));
    const sf_count_t n = sf_readf_float(file, channels == 1 ? mono.data() + got : chunk.data(), ask);
    if (channels == 1) mono.resize(static_cast<size_t>(got + std::max<sf_count_t>(n, 0)));
    if (n <= 0) break;
    if (got + n > max_frames)
      fail(path, str_cat("longer than ", kMaxSeconds, " s, the most this reader loads at once (cut it, or pass "
                         "an offset and duration)"));
    if (channels > 1) {
      for (sf_count_t i = 0; i < n; ++i) {
        const float* s = chunk.data() + i * channels;
        float acc = s[0];
        for (int64_t c = 1; c < channels; ++c) acc += s[c];
        mono.push_back(acc / count);
      }
    }
    got += n;
  }
  if (sf_error(file) != SF_ERR_NO_ERROR)
    fail(path, std::string("read error: ") + sf_strerror(file));
  if (got == 0)
    fail(path,
         offset > 0 || duration > 0 ? "no samples in the requested range" : "no audio samples");

  Audio out;
  out.sample_rate = rate;
  out.samples = std::move(mono);
  if (rate != target_rate) {
    out.samples = detail::resample(out.samples, rate, target_rate, path);
    out.sample_rate = target_rate;
  }
  return out;
}

}  // namespace

Audio load_audio(const std::string& path, int64_t target_rate, double offset, double duration) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(path, "no such file");
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, not an audio file");
  check_request(path, target_rate, offset, duration);
  SF_INFO info{};
  std::unique_ptr<SNDFILE, SndCloser> f(sf_open(path.c_str(), SFM_READ, &info));
  if (!f) fail(path, std::string("not a readable audio file (") + sf_strerror(nullptr) + ")");
  return read_open_file(f.get(), info, path, target_rate, offset, duration);
}

Audio load_audio_from_memory(const std::string& bytes, const std::string& source, int64_t target_rate,
                             double offset, double duration) {
  check_request(source, target_rate, offset, duration);
  SF_VIRTUAL_IO io{&MemoryFile::length, &MemoryFile::seek, &MemoryFile::read, &MemoryFile::write, &MemoryFile::tell};
  MemoryFile memory{&bytes, 0};
  SF_INFO info{};
  std::unique_ptr<SNDFILE, SndCloser> f(sf_open_virtual(&io, SFM_READ, &info, &memory));
  if (!f) fail(source, std::string("not a readable audio file (") + sf_strerror(nullptr) + ")");
  return read_open_file(f.get(), info, source, target_rate, offset, duration);
}

}  // namespace asr::audio

namespace asr::audio {
const char* resampler_name() { return detail::resampler_name(); }
}  // namespace asr::audio
