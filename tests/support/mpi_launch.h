#pragma once
// For tests that start themselves (or the CLI) under mpirun from a plain GoogleTest process.
#include <unistd.h>

#include <string>

extern char** environ;

namespace asr::test {

// "env -u OMPI_... -u PMIX_...": a process that has initialised MPI carries variables that would
// make a nested mpirun think it is part of this job (or refuse to start); commands run without them.
inline std::string clean_mpi_env_prefix() {
  std::string cmd = "env";
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (kv.rfind("OMPI_", 0) == 0 || kv.rfind("PMIX_", 0) == 0 || kv.rfind("OPAL_", 0) == 0)
      cmd += " -u " + kv.substr(0, kv.find('='));
  }
  return cmd;
}

// This test binary's own path, to relaunch it as the ranks of an mpirun job.
inline std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

}  // namespace asr::test
