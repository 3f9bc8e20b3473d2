// Run-folder guard (run_folder.h): a walk with lstat semantics, before the run writes anything.
#include "asr/io/run_folder.h"

#include <filesystem>
#include <system_error>

#include "asr/core/error.h"

namespace asr::io {
namespace fs = std::filesystem;

void refuse_symlinks_inside(const std::string& root) {
  std::error_code ec;
  if (!fs::exists(root, ec)) return;
  // The root may itself be a link: walk what it points to, never following links below it.
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  if (ec) throw Error(str_cat(root, ": cannot read the run folder (", ec.message(), ")"));
  for (; it != end; it.increment(ec)) {
    if (ec) throw Error(str_cat(root, ": cannot read the run folder (", ec.message(), ")"));
    if (it->is_symlink(ec))
      throw Error(str_cat(it->path().string(), ": a symlink inside the run folder ", root,
                          "; run outputs never follow links out of their folder (remove it, or choose another run_dir)"));
  }
}

}  // namespace asr::io
