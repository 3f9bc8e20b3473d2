// Reads .nemo archives (NeMo writes plain tar; before v1.7 it wrote tar.gz) with libarchive, into
// memory only, refusing members that a checkpoint never holds (see tar_reader.h).
#include "asr/io/tar_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>

#include "asr/core/error.h"

namespace asr::io {
namespace {

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

ArchivePtr new_reader(const std::string& source) {
  ArchivePtr ar(archive_read_new(), archive_read_free);
  if (!ar) throw Error(str_cat(source, ": cannot allocate an archive reader"));
  archive_read_support_filter_gzip(ar.get());
  archive_read_support_format_tar(ar.get());  // ustar, gnu and pax
  return ar;
}

Error libarchive_error(archive* ar, const std::string& source, const std::string& what) {
  const char* why = archive_error_string(ar);
  return Error(str_cat(source, ": ", what, " (", why ? why : "unknown libarchive error", ")"));
}

// Why a member's kind is refused, or nullptr for a regular file / directory.
const char* refused_kind(archive_entry* entry) {
  if (archive_entry_hardlink(entry)) return "a hard link";
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG: return nullptr;
    case AE_IFDIR: return nullptr;
    case AE_IFLNK: return "a symbolic link";
    case AE_IFCHR: return "a character device";
    case AE_IFBLK: return "a block device";
    case AE_IFIFO: return "a FIFO";
    case AE_IFSOCK: return "a socket";
    default: return "not a regular file";
  }
}

// An absolute path or a ".." component could name a file outside wherever the archive is read.
bool escapes(const std::string& name) {
  if (!name.empty() && name[0] == '/') return true;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    if (name.compare(start, end - start, "..") == 0 && end - start == 2) return true;
    start = end + 1;
  }
  return false;
}

// `archive_bytes`: the archive's size on disk or in memory (bounds a plain tar's members).
std::map<std::string, std::string> read_members(archive* ar, const std::string& source, uint64_t archive_bytes) {
  std::map<std::string, std::string> members;
  uint64_t unpacked = 0;  // all members so far
  archive_entry* entry = nullptr;
  while (true) {
    int rc = archive_read_next_header(ar, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) throw libarchive_error(ar, source, "not a readable tar archive or truncated");
    const char* raw_name = archive_entry_pathname(entry);
    std::string name = raw_name ? raw_name : "";
    auto refuse = [&](const std::string& why) {
      return Error(str_cat(source, ": member '", name, "' ", why, ": refused (a .nemo holds only regular files)"));
    };
    if (escapes(name)) throw refuse("has an absolute path or a '..' component");
    if (const char* kind = refused_kind(entry)) throw refuse(str_cat("is ", kind));
    if (archive_entry_filetype(entry) == AE_IFDIR) continue;
    while (name.compare(0, 2, "./") == 0) name.erase(0, 2);
    if (name.empty()) throw refuse("has an empty name");
    if (archive_entry_sparse_count(entry) > 0) throw refuse("is a sparse file");
    if (members.count(name)) throw refuse("appears twice in the archive");

    // Sizes are checked before anything is allocated: a plain tar cannot hold more than its own
    // bytes; a gzip one is held to kMaxTarUnpackedBytes in all.
    const bool compressed = archive_filter_code(ar, 0) != ARCHIVE_FILTER_NONE;
    const int64_t declared = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : 0;
    if (declared < 0) throw refuse(str_cat("declares a negative size (", declared, ")"));
    const uint64_t size = static_cast<uint64_t>(declared);
    if (!compressed && size > archive_bytes)
      throw refuse(str_cat("declares ", size, " bytes, more than the whole ", archive_bytes, "-byte archive"));
    if (size > kMaxTarUnpackedBytes - unpacked)
      throw refuse(str_cat("declares ", size, " bytes, past the ", kMaxTarUnpackedBytes >> 30,
                           " GiB limit on a .nemo's unpacked size"));

    std::string data;
    data.reserve(static_cast<size_t>(compressed ? std::min<uint64_t>(size, archive_bytes) : size));
    char buf[1 << 16];
    while (true) {
      la_ssize_t n = archive_read_data(ar, buf, sizeof buf);
      if (n < 0) throw libarchive_error(ar, source, str_cat("member '", name, "' is truncated or corrupt"));
      if (n == 0) break;
      if (static_cast<uint64_t>(n) > kMaxTarUnpackedBytes - unpacked - data.size())
        throw refuse(str_cat("unpacks past the ", kMaxTarUnpackedBytes >> 30, " GiB limit on a .nemo's unpacked size"));
      data.append(buf, static_cast<size_t>(n));
    }
    unpacked += data.size();
    members.emplace(std::move(name), std::move(data));
  }
  if (members.empty()) throw Error(str_cat(source, ": the archive holds no files"));
  return members;
}

}  // namespace

std::map<std::string, std::string> read_tar_members(const std::string& path) {
  ArchivePtr ar = new_reader(path);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    throw Error(str_cat(path, ": cannot open as a tar archive (missing or not a regular file)"));
  if (archive_read_open_filename(ar.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    throw libarchive_error(ar.get(), path, "cannot open as a tar archive");
  return read_members(ar.get(), path, static_cast<uint64_t>(st.st_size));
}

std::map<std::string, std::string> read_tar_members_from_memory(const std::string& bytes,
                                                                const std::string& source) {
  ArchivePtr ar = new_reader(source);
  if (archive_read_open_memory(ar.get(), bytes.data(), bytes.size()) != ARCHIVE_OK)
    throw libarchive_error(ar.get(), source, "cannot open as a tar archive");
  return read_members(ar.get(), source, bytes.size());
}

}  // namespace asr::io
