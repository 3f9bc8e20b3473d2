// Fuzz target: the audio reader (src/audio/audio.cpp: libsndfile over memory, mono mix-down,
// soxr resampling to 16 kHz), then a read with an offset and a short duration.
//
// Reads stop at 30 s of audio: soxr grows its buffers with realloc, which AddressSanitizer makes
// quadratic (2 minutes of 1 kHz FLAC, 6 KB, takes 7 s under ASan and milliseconds in a release
// build), so longer reads would only be reported as timeouts. A file shorter than that is also
// read to its end; the 2-hour cap on one read is tested in tests/audio/test_load_audio.cpp.
#include "asr/audio/audio.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = asr::fuzz::as_string(data, size);
  constexpr double kSeconds = 30.0;
  asr::fuzz::expect_only_asr_errors([&] {
    asr::audio::Audio audio = asr::audio::load_audio_from_memory(bytes, "fuzz.audio", 16000, 0.0, kSeconds);
    if (audio.sample_rate != 16000 || audio.samples.empty()) std::abort();
    if (audio.duration() < kSeconds - 1.0) asr::audio::load_audio_from_memory(bytes, "fuzz.audio", 16000);
    asr::audio::load_audio_from_memory(bytes, "fuzz.audio", 16000, 0.001, 0.002);
  });
  return 0;
}
