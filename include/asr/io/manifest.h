#pragma once
// NeMo's JSON-lines manifest (one {"audio_filepath", "duration", "text", "offset"?} object per
// line), read as nemo/collections/common/parts/preprocessing/manifest.py reads it.
#include <string>
#include <vector>

namespace asr::io {

struct ManifestEntry {
  std::string audio_filepath;  // resolved (see read_manifest)
  double duration = 0.0;       // seconds; 0 when the manifest gives null
  double offset = 0.0;         // seconds
  std::string text;            // "text" (or "normalized_text"); empty when absent
  bool has_text = false;
  int64_t line = 0;            // 1-based line in the manifest, for messages
  std::string json;            // the line as written, so outputs can keep every field
};

// Reads every non-blank line. "audio_filepath" (or NeMo's older "audio_filename") and "duration"
// are required. A relative audio path is resolved as NeMo's get_full_path does: "~" is expanded;
// a path that names a file from the working directory is kept; otherwise, if it names a file
// relative to the manifest's folder, that path is used; otherwise it is kept as written (and the
// audio loader reports it). Errors name "manifest:line".
std::vector<ManifestEntry> read_manifest(const std::string& path);

// The same, for manifest text already in memory; `path` names it and anchors relative paths.
std::vector<ManifestEntry> parse_manifest(const std::string& text, const std::string& path);

}  // namespace asr::io
