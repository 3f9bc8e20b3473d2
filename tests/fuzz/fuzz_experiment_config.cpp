// Fuzz target: the YAML experiment config (src/train/experiment_config.cpp, yaml_binding.cpp,
// yaml_override.cpp). Input: YAML text, then optionally NUL-separated command-line overrides
// ("optim.lr=3e-4"), so the override parser is fuzzed with the document it edits.
#include <vector>

#include "asr/train/experiment_config.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input = asr::fuzz::as_string(data, size);
  const size_t nul = input.find('\0');
  const std::string yaml = input.substr(0, nul);
  std::vector<std::string> overrides;
  for (size_t at = nul; at != std::string::npos && overrides.size() < 8;) {
    const size_t next = input.find('\0', at + 1);
    overrides.push_back(input.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1));
    at = next;
  }
  asr::fuzz::expect_only_asr_errors([&] {
    asr::train::ExperimentConfig config = asr::train::parse_experiment_config(yaml, "fuzz.yaml", overrides);
    // What was accepted must write out and read back to the same config (to_yaml's promise).
    const std::string again = asr::train::to_yaml(config);
    bool same = false;
    try {
      same = asr::train::parse_experiment_config(again, "fuzz-again.yaml") == config;
    } catch (const asr::Error& e) {
      std::fprintf(stderr, "fuzz: to_yaml output is refused: %s\n", e.what());
    }
    if (!same) {
      std::fprintf(stderr, "fuzz: config does not round-trip through to_yaml:\n%s\n", again.c_str());
      std::abort();
    }
  });
  return 0;
}
