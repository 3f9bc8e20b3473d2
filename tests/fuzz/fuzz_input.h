#pragma once
// Shared by the fuzz harnesses: the input as a string, and the rule every harness enforces, that
// a parser either accepts its input or throws asr::Error. Any other exception escaping (a
// std::out_of_range, a library's own exception type, std::bad_alloc) is a bug: it aborts here so
// libFuzzer records it as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "asr/core/error.h"

namespace asr::fuzz {

inline std::string as_string(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

template <typename Fn>
void expect_only_asr_errors(Fn&& parse) {
  try {
    parse();
  } catch (const asr::Error& e) {
    // A refusal with a message: the expected outcome for a bad input (ASR_FUZZ_VERBOSE=1 shows it).
    static const bool verbose = std::getenv("ASR_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "fuzz: refused: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: an exception other than asr::Error escaped: %s\n", e.what());
    std::abort();
  }
}

}  // namespace asr::fuzz
