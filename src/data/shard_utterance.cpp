// Decode one manifest item and classify what can go wrong with it (missing file, undecodable,
// empty, CTC-infeasible) as a skip; anything else is a real error.
#include "shard_utterance.h"

#include <sndfile.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "asr/audio/audio.h"
#include "asr/core/error.h"
#include "asr/data/shard_builder.h"
#include "asr/models/subsampling.h"

namespace asr::data {

int64_t ctc_min_frames(const std::vector<int32_t>& tokens) {
  int64_t n = static_cast<int64_t>(tokens.size());
  for (size_t i = 1; i < tokens.size(); ++i) n += tokens[i] == tokens[i - 1];
  return n;
}

namespace detail {
namespace {

UtteranceResult skipped(const PlannedUtterance& u, SkipReason r, std::string detail) {
  UtteranceResult res;
  res.skip = {r, u.where, std::move(detail)};
  return res;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

}  // namespace

UtteranceResult compute_utterance(const PlannedUtterance& u, const audio::FeatureExtractor& fx,
                                  int64_t subsampling_stages) {
  namespace fs = std::filesystem;
  try {
    std::error_code ec;
    if (!fs::exists(u.audio_path, ec)) return skipped(u, SkipReason::AudioMissing, "no such file: " + u.audio_path);
    if (!fs::is_regular_file(u.audio_path, ec))
      return skipped(u, SkipReason::AudioMissing, "not a regular file: " + u.audio_path);
    if (::access(u.audio_path.c_str(), R_OK) != 0)
      return skipped(u, SkipReason::AudioMissing, str_cat(u.audio_path, ": ", std::strerror(errno)));

    // libsndfile's view first: it tells a file it cannot decode from one with no samples.
    SF_INFO info{};
    SNDFILE* f = sf_open(u.audio_path.c_str(), SFM_READ, &info);
    if (!f) return skipped(u, SkipReason::AudioCorrupt, str_cat(u.audio_path, ": ", sf_strerror(nullptr)));
    sf_close(f);
    if (info.frames <= 0) return skipped(u, SkipReason::AudioEmpty, u.audio_path + ": no samples");
    // A manifest duration covering the whole file (up to rounding) reads the whole file, as
    // transcribe does: int(duration * rate) could otherwise drop the last sample.
    double duration = u.duration;
    if (u.offset == 0 && std::round(u.duration * info.samplerate) >= static_cast<double>(info.frames)) duration = 0;

    audio::Audio a;
    try {
      a = audio::load_audio(u.audio_path, fx.config().sample_rate, u.offset, duration);
    } catch (const Error& e) {
      const std::string msg = e.what();
      const bool empty = contains(msg, "no audio samples") || contains(msg, "no samples") || contains(msg, "beyond the end");
      return skipped(u, empty ? SkipReason::AudioEmpty : SkipReason::AudioCorrupt, msg);
    }
    const int64_t n = static_cast<int64_t>(a.samples.size());
    const int64_t frames = fx.num_frames(n);
    if (frames <= 0)
      return skipped(u, SkipReason::AudioEmpty, str_cat(u.audio_path, ": ", n, " samples, too short for one feature frame"));

    UtteranceResult res;
    res.duration = static_cast<double>(n) / static_cast<double>(fx.config().sample_rate);
    const int64_t t_enc = models::subsampled_length(frames, subsampling_stages);
    const int64_t need = ctc_min_frames(u.tokens);
    if (need > t_enc) {
      auto r = skipped(u, SkipReason::CtcInfeasible,
                       str_cat(u.tokens.size(), " tokens need ", need, " encoder frames, the audio gives ", t_enc));
      r.duration = res.duration;
      return r;
    }
    Tensor feats = fx.compute(a.samples);  // [n_mels, frames]
    const int64_t n_mels = feats.shape()[0];
    const float* src = feats.data<float>();
    res.features.resize(static_cast<size_t>(frames * n_mels));
    for (int64_t m = 0; m < n_mels; ++m)
      for (int64_t t = 0; t < frames; ++t) res.features[static_cast<size_t>(t * n_mels + m)] = src[m * frames + t];
    res.frames = frames;
    res.ok = true;
    return res;
  } catch (...) {
    UtteranceResult res;
    res.error = std::current_exception();
    return res;
  }
}

}  // namespace detail
}  // namespace asr::data
