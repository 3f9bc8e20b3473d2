// Reads .nemo archives (NeMo writes plain tar; before v1.7 it wrote tar.gz) with libarchive.
#include "asr/io/tar_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include "asr/core/error.h"

namespace asr::io {

std::map<std::string, std::string> read_tar_members(const std::string& path) {
  std::unique_ptr<archive, int (*)(archive*)> ar(archive_read_new(), archive_read_free);
  if (!ar) throw Error(str_cat(path, ": cannot allocate an archive reader"));
  archive_read_support_filter_gzip(ar.get());
  archive_read_support_format_tar(ar.get());  // ustar, gnu and pax
  auto fail = [&](const char* what) {
    const char* why = archive_error_string(ar.get());
    return Error(str_cat(path, ": ", what, " (", why ? why : "unknown libarchive error", ")"));
  };
  if (archive_read_open_filename(ar.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    throw fail("cannot open as a tar archive");

  std::map<std::string, std::string> members;
  archive_entry* entry = nullptr;
  while (true) {
    int rc = archive_read_next_header(ar.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) throw fail("not a readable tar archive or truncated");
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    while (name.compare(0, 2, "./") == 0) name.erase(0, 2);
    std::string data;
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0)
      data.reserve(static_cast<size_t>(archive_entry_size(entry)));
    char buf[1 << 16];
    while (true) {
      la_ssize_t n = archive_read_data(ar.get(), buf, sizeof buf);
      if (n < 0) throw fail(str_cat("member '", name, "' is truncated or corrupt").c_str());
      if (n == 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    members[name] = std::move(data);
  }
  if (members.empty()) throw Error(str_cat(path, ": the archive holds no files"));
  return members;
}

}  // namespace asr::io
