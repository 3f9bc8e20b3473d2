#pragma once
// Audio named on the command line or in a NeMo manifest, checked before the model loads (fail
// fast with one-line errors) and decoded for the preprocessor. Shared by `transcribe` and `eval`.
#include <string>
#include <vector>

#include "asr/audio/features.h"
#include "asr/io/manifest.h"
#include "asr/io/model_file.h"

namespace asr::cli {

struct AudioInput {
  std::string path;                 // audio file, resolved
  std::string where;                // prefix for messages: "manifest:line" or the file
  double offset = 0, duration = 0;  // seconds; duration 0 = to the end of the file
  const io::ManifestEntry* entry = nullptr;
  double seconds = 0;  // audio length (set by probe_audio), for sorting and the real-time factor
};

// One input per manifest entry (`entries` must outlive them) or per file.
std::vector<AudioInput> inputs_from_manifest(const std::vector<io::ManifestEntry>& entries,
                                             const std::string& manifest_path);
std::vector<AudioInput> inputs_from_files(const std::vector<std::string>& files);

// Checks the file is readable audio and sets `seconds`. A manifest duration that covers the whole
// file (up to rounding) reads the whole file: NeMo's lhotse loader rounds duration * rate, so
// `floor` would drop a sample. Errors: "FILE: what" for a file named on the command line,
// "MANIFEST:LINE: what FILE" for a manifest's.
void probe_audio(AudioInput& input);

// The samples at the preprocessor's rate; too short for one feature frame is an error.
std::vector<float> load_audio_input(const AudioInput& input, const audio::FeatureExtractor& fx);

// The model file's preprocessor buffer `key`, or an undefined tensor (derive it).
Tensor preprocessor_buffer(const io::ModelFile& mf, const char* key);

}  // namespace asr::cli
