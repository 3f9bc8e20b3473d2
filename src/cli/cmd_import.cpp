// `asr-adapt import MODEL.nemo -o MODEL.h5`: converts a NeMo checkpoint into asr-adapt's HDF5
// checkpoint (docs/checkpoint-format.md), which later commands mmap read-only instead of
// unpacking the .nemo every time. The written file is reloaded and compared bitwise.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "asr/io/model_file.h"
#include "commands.h"

namespace asr::cli {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_import(const std::string& in, std::string out, bool force) {
  if (out.empty()) out = std::filesystem::path(in).replace_extension(".h5").string();
  std::error_code ec;  // equivalent() fails (false) when `out` does not exist yet
  if (std::filesystem::equivalent(in, out, ec))
    throw Error(str_cat(out, ": the output would overwrite the input"));
  if (!force && std::filesystem::exists(out))
    throw Error(str_cat(out, ": already exists (pass --force to replace it)"));

  auto t0 = std::chrono::steady_clock::now();
  io::ModelFile model = io::load_model_file(in);
  const double t_read = seconds_since(t0);

  auto t1 = std::chrono::steady_clock::now();
  io::write_model_h5(model, out);
  const double t_write = seconds_since(t1);

  auto t2 = std::chrono::steady_clock::now();
  io::ModelFile back = io::load_model_file(out);
  for (const auto& [key, t] : model.weights) {
    auto it = back.weights.find(key);
    if (it == back.weights.end() || it->second.shape() != t.shape() || it->second.dtype() != t.dtype() ||
        std::memcmp(it->second.contiguous().raw_data(), t.contiguous().raw_data(), t.nbytes()) != 0)
      throw Error(str_cat(out, ": verification failed: weight '", key, "' differs after writing"));
  }
  if (back.weights.size() != model.weights.size() || back.tokenizer_model != model.tokenizer_model ||
      back.config.yaml != model.config.yaml)
    throw Error(str_cat(out, ": verification failed: contents differ after writing"));
  const double t_verify = seconds_since(t2);

  int64_t elements = 0;
  for (const auto& [key, t] : model.weights) elements += t.numel();
  spdlog::info("imported {} -> {}: {} tensors, {} values, {:.1f} MiB; read {:.3f} s, write {:.3f} s, verify {:.3f} s",
               in, out, model.weights.size(), elements,
               static_cast<double>(std::filesystem::file_size(out)) / (1 << 20), t_read, t_write, t_verify);
  return kOk;
}

}  // namespace

CommandRunner add_import_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "import", "Convert a NeMo .nemo model into an asr-adapt .h5 checkpoint (mmap-able, read-only weights)");
  auto in = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  cmd->add_option("MODEL", *in, "The .nemo file (plain or gzip tar; an .h5 is re-written)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", *out, "Output .h5 path (default: MODEL with the extension .h5)");
  cmd->add_flag("-f,--force", *force, "Replace the output file if it exists");
  cmd->footer("The checkpoint holds every state-dict tensor as a contiguous dataset under /weights, the "
              "model config YAML and the SentencePiece model; see docs/checkpoint-format.md.");
  return [=] { return run_import(*in, *out, *force); };
}

}  // namespace asr::cli
