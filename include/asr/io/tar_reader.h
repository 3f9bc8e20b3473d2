#pragma once
// The regular-file members of a tar archive (plain or gzip, as .nemo files are), read into memory
// with libarchive; nothing is ever extracted to disk. Names lose a leading "./" so
// "./model_config.yaml" is "model_config.yaml".
//
// A .nemo comes from someone else, so members that could escape or exhaust the reader are refused
// with an asr::Error naming the member: absolute paths, ".." components, symbolic or hard links,
// device files, FIFOs, sockets, sparse files, duplicate names, a declared size larger than a plain
// tar can hold, and more than kMaxTarUnpackedBytes in total. Directories are skipped.
#include <cstdint>
#include <map>
#include <string>

namespace asr::io {

// Cap on the bytes all members unpack to (a gzip .nemo can expand ~1000x): 16 GiB.
constexpr uint64_t kMaxTarUnpackedBytes = uint64_t{16} << 30;

// Throws asr::Error naming `path` for unreadable, truncated, non-tar or refused input.
std::map<std::string, std::string> read_tar_members(const std::string& path);

// The same for an archive already in memory; `source` names it in errors.
std::map<std::string, std::string> read_tar_members_from_memory(const std::string& bytes,
                                                                const std::string& source);

}  // namespace asr::io
