// load_model_file: dispatch on the file's magic bytes (never its extension).
#include <cerrno>
#include <cstring>
#include <fstream>

#include "loaders.h"

namespace asr::io {

const char* file_kind_name(FileKind kind) {
  switch (kind) {
    case FileKind::NemoTar: return ".nemo (tar)";
    case FileKind::NemoGzip: return ".nemo (gzip tar)";
    case FileKind::Hdf5: return "asr-adapt HDF5";
  }
  return "?";
}

FileKind detect_file_kind(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(str_cat(path, ": cannot open (", std::strerror(errno), ")"));
  char head[512] = {};
  in.read(head, sizeof head);
  const size_t n = static_cast<size_t>(in.gcount());
  if (n >= 8 && std::memcmp(head, "\x89HDF\r\n\x1a\n", 8) == 0) return FileKind::Hdf5;
  if (n >= 2 && static_cast<uint8_t>(head[0]) == 0x1f && static_cast<uint8_t>(head[1]) == 0x8b)
    return FileKind::NemoGzip;
  if (n >= 262 && std::memcmp(head + 257, "ustar", 5) == 0) return FileKind::NemoTar;
  if (n >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0)
    throw Error(str_cat(path, ": a bare torch checkpoint (zip), not a .nemo archive: pass the .nemo file"));
  if (n == 0) throw Error(str_cat(path, ": the file is empty"));
  throw Error(str_cat(path, ": neither a .nemo (tar) nor an asr-adapt .h5 checkpoint"));
}

ModelFile load_model_file(const std::string& path) {
  return detect_file_kind(path) == FileKind::Hdf5 ? load_model_h5(path) : load_nemo(path);
}

}  // namespace asr::io
