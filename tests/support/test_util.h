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

#include <random>

namespace asr::test {
// A path in gtest's temp folder that no other test process uses (ctest runs tests in parallel,
// one process per test, so fixed names would race). The pid alone is not enough: a later suite
// on the same machine (the sanitizer build after the main one) reuses pids, and finds the
// files an earlier process with that pid left behind; a random tag per process tells them apart.
inline std::string temp_path(const std::string& name) {
  static const std::string process_tag = [] {
    std::random_device rd;
    return std::to_string(::getpid()) + "_" + std::to_string(rd() % 1000000007u);
  }();
  return ::testing::TempDir() + "asr_" + process_tag + "_" + name;
}
}  // namespace asr::test
