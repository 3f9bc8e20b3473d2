#pragma once
// Audio input: any format libsndfile reads (wav, flac, ogg), read as soundfile does (f32, int PCM
// scaled by 1/2^(bits-1)), mixed down to mono as NeMo's AudioSegment with
// channel_selector="average" does (f32 mean of the channels), then resampled to the model's rate.
#include <string>
#include <vector>

namespace asr::audio {

struct Audio {
  std::vector<float> samples;
  int64_t sample_rate = 0;
  double duration() const { return sample_rate ? static_cast<double>(samples.size()) / sample_rate : 0.0; }
};

// What load_audio accepts (anything else is an asr::Error naming the file): source rates from
// kMinSampleRate up, and at most kMaxSeconds read at once (a few KB of FLAC silence decodes to
// hours; cut long recordings, or read them piecewise with offset/duration).
constexpr int kMinSampleRate = 1000;
constexpr int kMaxSeconds = 2 * 3600;

// offset/duration in seconds (duration 0 = to the end). Errors name the file.
Audio load_audio(const std::string& path, int64_t target_rate, double offset = 0.0, double duration = 0.0);
// The same for a file's bytes already in memory; `source` names it in errors.
Audio load_audio_from_memory(const std::string& bytes, const std::string& source, int64_t target_rate,
                             double offset = 0.0, double duration = 0.0);

// The resampler load_audio uses: "soxr-hq" (NeMo's own, via librosa: sample-exact).
const char* resampler_name();

}  // namespace asr::audio
