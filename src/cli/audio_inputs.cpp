#include "audio_inputs.h"

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "asr/audio/audio.h"

namespace asr::cli {
namespace {

Error input_error(const AudioInput& u, const std::string& what, const std::string& detail = "") {
  return Error(u.entry ? str_cat(u.where, ": ", what, " ", u.path, detail) : str_cat(u.path, ": ", what, detail));
}

}  // namespace

std::vector<AudioInput> inputs_from_manifest(const std::vector<io::ManifestEntry>& entries,
                                             const std::string& manifest_path) {
  std::vector<AudioInput> out;
  for (const auto& e : entries)
    out.push_back({e.audio_filepath, str_cat(manifest_path, ":", e.line), e.offset, e.duration, &e});
  return out;
}

std::vector<AudioInput> inputs_from_files(const std::vector<std::string>& files) {
  std::vector<AudioInput> out;
  for (const auto& f : files) out.push_back({f, f, 0.0, 0.0, nullptr});
  return out;
}

void probe_audio(AudioInput& u) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(u.path, ec)) throw input_error(u, "no such audio file");
  if (!fs::is_regular_file(u.path, ec)) throw input_error(u, "not a regular file");
  SF_INFO info{};
  SNDFILE* f = sf_open(u.path.c_str(), SFM_READ, &info);
  if (!f) throw input_error(u, "not a readable audio file", str_cat(" (", sf_strerror(nullptr), ")"));
  sf_close(f);
  const double rate = info.samplerate > 0 ? info.samplerate : 1;
  const double file_seconds = static_cast<double>(info.frames) / rate;
  if (u.offset == 0 && u.duration > 0 && std::round(u.duration * rate) >= info.frames) u.duration = 0;
  u.seconds = u.duration > 0 ? u.duration : std::max(0.0, file_seconds - u.offset);
}

std::vector<float> load_audio_input(const AudioInput& u, const audio::FeatureExtractor& fx) {
  audio::Audio a;
  try {
    a = audio::load_audio(u.path, fx.config().sample_rate, u.offset, u.duration);
  } catch (const Error& e) {
    if (!u.entry) throw;
    throw Error(str_cat(u.where, ": ", e.what()));
  }
  if (fx.num_frames(static_cast<int64_t>(a.samples.size())) <= 0)
    throw input_error(u, "audio too short to transcribe", str_cat(" (", a.samples.size(), " samples)"));
  return std::move(a.samples);
}

Tensor preprocessor_buffer(const io::ModelFile& mf, const char* key) {
  auto it = mf.weights.find(key);
  return it == mf.weights.end() ? Tensor() : it->second;
}

}  // namespace asr::cli
