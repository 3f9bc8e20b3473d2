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

// offset/duration in seconds (duration 0 = to the end). Errors name the file.
Audio load_audio(const std::string& path, int64_t target_rate, double offset = 0.0, double duration = 0.0);

// The resampler load_audio uses: "soxr-hq" (NeMo's own, via librosa: sample-exact).
const char* resampler_name();

}  // namespace asr::audio
