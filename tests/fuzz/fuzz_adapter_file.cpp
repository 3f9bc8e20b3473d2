// Fuzz target: the adapter file reader (src/models/adapter_file.cpp) over an HDF5 file image in
// memory (core driver): attributes, adapters_json specs and the /weights datasets.
#include "asr/models/adapter_file.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string image = asr::fuzz::as_string(data, size);
  asr::fuzz::expect_only_asr_errors([&] { asr::models::read_adapter_file_image(image, "fuzz.adapter.h5"); });
  return 0;
}
