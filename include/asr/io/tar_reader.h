#pragma once
// The regular-file members of a tar archive (plain or gzip, as .nemo files are), read into memory
// with libarchive. Names lose a leading "./" so "./model_config.yaml" is "model_config.yaml".
#include <map>
#include <string>

namespace asr::io {

// Throws asr::Error naming `path` for unreadable, truncated or non-tar input.
std::map<std::string, std::string> read_tar_members(const std::string& path);

}  // namespace asr::io
