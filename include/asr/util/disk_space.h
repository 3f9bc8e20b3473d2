#pragma once
// Naming the cause of a failed write. HDF5 reports a failed write as "HDF5 failed to ..." without
// the system's reason (errno is gone by the time it returns), so writers add this note: when the
// file system holding `dir` is (nearly) full, " [No space left on device: N bytes free under DIR]",
// else "".
#include <string>

namespace asr::util {

std::string disk_full_note(const std::string& dir);

}  // namespace asr::util
