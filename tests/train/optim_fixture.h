#pragma once
// Access to tests/fixtures/optim/optim_reference.h5 (tools/make_optim_fixtures.py).
#include <optional>
#include <string>

#include "golden/golden_io.h"

namespace asr::test {

inline const golden::File& optim_fixture() {
  // golden::File resolves names under ASR_GOLDEN_DIR; the fixture lives beside it.
  static const golden::File f("../fixtures/optim/optim_reference.h5");
  return f;
}

// An attribute that a case may leave out.
inline std::optional<double> optional_attr(const std::string& obj, const std::string& name) {
  try {
    return optim_fixture().attr(obj, name);
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace asr::test
