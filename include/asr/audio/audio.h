#pragma once
// Audio input: any format libsndfile reads (wav, flac, ogg), mixed down to mono as NeMo does
// (mean of the channels) and resampled to the model's rate with libsamplerate.
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

}  // namespace asr::audio
