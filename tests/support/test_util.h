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

namespace asr::test {
// A path in gtest's temp folder that no other test process uses (ctest runs tests in parallel,
// one process per test, so fixed names would race).
inline std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "asr_" + std::to_string(::getpid()) + "_" + name;
}
}  // namespace asr::test
