#pragma once
// For tests that start themselves (or the CLI) under mpirun from a plain GoogleTest process.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

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

struct MpirunResult {
  bool ok = false;     // exited with status 0
  std::string output;  // stdout and stderr of every rank
};

// Runs this test binary as `ranks` ranks of mpirun with the disabled tests matching `filter`
// (the child half of a parent/child test), with `env` ("A=1 B=2") set for the children.
inline MpirunResult run_self_under_mpirun(const std::string& filter, const std::string& env = "", int ranks = 2) {
  const std::string cmd = clean_mpi_env_prefix() + " " + env + " " + ASR_MPIEXEC +
                          " --allow-run-as-root --oversubscribe -np " + std::to_string(ranks) + " " + self_exe() +
                          " --gtest_also_run_disabled_tests --gtest_filter=" + filter + " 2>&1";
  MpirunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) r.output.append(buf, n);
  const int status = pclose(p);
  r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return r;
}

}  // namespace asr::test
