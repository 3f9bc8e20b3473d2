#pragma once
// Small assertion helpers shared by the test binaries.
#include <gtest/gtest.h>

#include <string>

#include "asr/core/error.h"

// Expects `stmt` to throw asr::Error whose message contains `needle`.
#define EXPECT_ASR_ERROR(stmt, needle)                                                   \
  do {                                                                                   \
    try {                                                                                \
      stmt;                                                                              \
      ADD_FAILURE() << "expected asr::Error containing '" << (needle) << "'";            \
    } catch (const ::asr::Error& e) {                                                    \
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)                   \
          << "message was: " << e.what();                                                \
    }                                                                                    \
  } while (0)

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <system_error>

namespace asr::test {
namespace detail {
// This process's prefix for temp paths, and the clean-up of everything under it at exit (unless
// ASR_KEEP_TEST_FILES is set, to look at what a failing test left). A forked child that exits
// leaves its parent's files alone.
class TempPrefix {
 public:
  TempPrefix() : owner_(::getpid()) {
    // A "threadsafe" death test runs its statement in a fresh exec of this binary, which dies
    // before any clean-up: it takes its parent's prefix, so the parent removes what it wrote.
    const char* parents = std::getenv(kEnv);
    if (parents && !GTEST_FLAG_GET(internal_run_death_test).empty()) {
      name_ = parents;
      owner_ = 0;
      return;
    }
    std::random_device rd;
    name_ = "asr_" + std::to_string(owner_) + "_" + std::to_string(rd() % 1000000007u) + "_";
    ::setenv(kEnv, name_.c_str(), 1);
  }
  ~TempPrefix() {
    if (::getpid() != owner_ || std::getenv("ASR_KEEP_TEST_FILES")) return;
    namespace fs = std::filesystem;
    std::error_code ec;
    for (fs::directory_iterator it(::testing::TempDir(), ec), end; !ec && it != end; it.increment(ec))
      if (it->path().filename().string().rfind(name_, 0) == 0) fs::remove_all(it->path(), ec);
  }
  const std::string& name() const { return name_; }

 private:
  static constexpr const char* kEnv = "ASR_TEST_TEMP_PREFIX";
  pid_t owner_;
  std::string name_;
};
}  // namespace detail

// A path in gtest's temp folder that no other test process uses (ctest runs tests in parallel,
// one process per test, so fixed names would race). The pid alone is not enough: a later suite
// on the same machine (the sanitizer build after the main one) reuses pids, and would find what
// an earlier process with that pid left; a random tag per process tells them apart. Everything
// under the prefix is removed when the process exits.
inline std::string temp_path(const std::string& name) {
  static const detail::TempPrefix prefix;
  return ::testing::TempDir() + prefix.name() + name;
}
}  // namespace asr::test
