// disk_full_note (disk_space.h): statvfs of the folder a write failed in.
#include "asr/util/disk_space.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "asr/core/error.h"

namespace asr::util {

std::string disk_full_note(const std::string& dir) {
  struct statvfs info {};
  if (::statvfs(dir.c_str(), &info) != 0) return "";
  const unsigned long long free_bytes =
      static_cast<unsigned long long>(info.f_bavail) * static_cast<unsigned long long>(info.f_frsize);
  // Below 1 MiB a failed write is almost surely the full disk (HDF5 writes in blocks of KiB).
  if (free_bytes >= (1ull << 20)) return "";
  return str_cat(" [", std::strerror(ENOSPC), ": ", free_bytes, " bytes free under ", dir, "]");
}

}  // namespace asr::util
