// Fuzz target: NeMo JSON-lines manifest text -> ManifestEntry list (src/io/manifest.cpp).
// The manifest "lives" in a folder that does not exist, so relative audio paths resolve without
// ever naming a real file.
#include "asr/io/manifest.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  asr::fuzz::expect_only_asr_errors([&] {
    asr::io::parse_manifest(asr::fuzz::as_string(data, size), "/nonexistent-fuzz-dir/manifest.json");
  });
  return 0;
}
