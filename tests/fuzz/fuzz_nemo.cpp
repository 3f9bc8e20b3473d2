// Fuzz target: the .nemo reader, tar -> torch zip -> restricted unpickler -> tensors -> config and
// weight checks (src/io/tar_reader.cpp, nemo_file.cpp, torch_zip.cpp, unpickler.cpp,
// model_config.cpp, weights_check.cpp). The input's first bytes pick the layer it enters at, so
// mutations deep inside are not all lost to the outer layers' checksums:
//   "PK\3\4"  a torch zip checkpoint (model_weights.ckpt) -> read_torch_state_dict
//   0x80      a pickle (data.pkl): wrapped here into a valid torch zip with a few storages
//             (data/0 .. data/63, 2 KiB each) -> read_torch_state_dict
//   other     a whole .nemo (tar or gzip tar) -> load_nemo_from_memory
#include <zip.h>

#include <cstring>

#include "asr/io/torch_checkpoint.h"
#include "fuzz_input.h"
#include "io/loaders.h"

namespace {

// A stored (uncompressed) zip of archive/data.pkl = `pickle` plus the storages, built in memory.
std::string torch_zip_around(const std::string& pickle) {
  static const std::string storage = [] {
    std::string s(2048, '\0');
    for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(i * 37 + 11);
    return s;
  }();
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (!buffer) std::abort();
  zip_source_keep(buffer);
  zip_t* zip = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  if (!zip) std::abort();
  auto add = [&](const std::string& name, const std::string& bytes) {
    zip_source_t* member = zip_source_buffer(zip, bytes.data(), bytes.size(), 0);
    const zip_int64_t index = zip_file_add(zip, name.c_str(), member, ZIP_FL_OVERWRITE);
    if (index < 0) std::abort();
    zip_set_file_compression(zip, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
  };
  add("archive/data.pkl", pickle);
  static const std::string little = "little";  // libzip reads member bytes at zip_close
  add("archive/byteorder", little);
  for (int i = 0; i < 64; ++i) add("archive/data/" + std::to_string(i), storage);
  if (zip_close(zip) != 0) std::abort();
  std::string out;
  if (zip_source_open(buffer) == 0) {
    char chunk[1 << 14];
    zip_int64_t n;
    while ((n = zip_source_read(buffer, chunk, sizeof chunk)) > 0) out.append(chunk, static_cast<size_t>(n));
    zip_source_close(buffer);
  }
  zip_source_free(buffer);
  zip_error_fini(&error);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = asr::fuzz::as_string(data, size);
  asr::fuzz::expect_only_asr_errors([&] {
    if (bytes.compare(0, 4, "PK\x03\x04") == 0)
      asr::io::read_torch_state_dict(bytes, "fuzz.ckpt");
    else if (!bytes.empty() && static_cast<uint8_t>(bytes[0]) == 0x80)
      asr::io::read_torch_state_dict(torch_zip_around(bytes), "fuzz-pickle.ckpt");
    else
      asr::io::load_nemo_from_memory(bytes, "fuzz.nemo");
  });
  return 0;
}
