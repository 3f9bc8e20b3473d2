#pragma once
// Sample-rate conversion of a mono signal with libsoxr 'HQ', which is what NeMo uses (librosa's
// default resampler): our resampled audio matches NeMo's sample for sample. (libsamplerate was
// tried first: its different roll-off near Nyquist moved the top mel band by 0.16.)
#include <cstdint>
#include <string>
#include <vector>

namespace asr::audio::detail {

// The output has ceil(n * to / from) samples, the length librosa.resample returns (fix=True).
// `what` names the source in error messages.
std::vector<float> resample(const std::vector<float>& in, int64_t from, int64_t to,
                            const std::string& what);

// "soxr-hq".
const char* resampler_name();

}  // namespace asr::audio::detail
