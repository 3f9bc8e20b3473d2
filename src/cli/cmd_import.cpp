// `asr-adapt import MODEL.nemo -o MODEL.h5`: converts a NeMo checkpoint into asr-adapt's HDF5
// checkpoint (docs/checkpoint-format.md), which later commands mmap read-only instead of
// unpacking the .nemo every time. The written file is reloaded and compared bitwise.
// `asr-adapt import --adapters adapters.pt --model M -o A.h5`: NeMo's save_adapters() file,
// placed on model M, becomes an asr-adapt adapter file (weights, specs, M's fingerprint).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "asr/io/model_file.h"
#include "asr/models/adapter_file.h"
#include "asr/models/nemo_adapters.h"
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

int run_import_adapters(const std::string& pt, const std::string& model_path, std::string out, bool force) {
  if (out.empty()) out = std::filesystem::path(pt).replace_extension(".h5").string();
  std::error_code ec;
  if (std::filesystem::equivalent(pt, out, ec) || std::filesystem::equivalent(model_path, out, ec))
    throw Error(str_cat(out, ": the output would overwrite an input"));
  if (!force && std::filesystem::exists(out))
    throw Error(str_cat(out, ": already exists (pass --force to replace it)"));

  const io::ModelFile base = io::load_model_file(model_path);
  auto model = models::load_ctc_model(base);
  const std::string fingerprint = models::base_model_fingerprint(base.weights);
  models::NemoAdapters nemo = models::read_nemo_adapters(pt, base.config.encoder.n_layers);
  models::AdapterFile file;
  file.specs = nemo.specs;
  file.weights = std::move(nemo.weights);
  file.base_fingerprint = fingerprint;
  file.base_model = model_path;
  // Placing them on the model checks every name, key and shape against this base model.
  models::apply_adapter_file(*model, file, fingerprint, pt);
  std::vector<std::string> names;
  for (const auto& s : file.specs) names.push_back(s.name);
  models::save_adapter_file(out, *model, names, fingerprint, model_path);

  const models::AdapterFile back = models::read_adapter_file(out);
  if (back.weights.size() != file.weights.size() || back.specs.size() != file.specs.size())
    throw Error(str_cat(out, ": verification failed: the written adapter file differs"));
  for (const auto& [key, t] : file.weights) {
    auto it = back.weights.find(key);
    if (it == back.weights.end() || it->second.shape() != t.shape() ||
        std::memcmp(it->second.contiguous().raw_data(), t.contiguous().raw_data(), t.nbytes()) != 0)
      throw Error(str_cat(out, ": verification failed: weight '", key, "' differs after writing"));
  }
  for (const auto& s : file.specs)
    spdlog::info("  adapter '{}' ({}): {}", s.name, s.module, s.enabled ? "enabled" : "disabled");
  spdlog::info("imported NeMo adapters {} onto {} -> {}: {} adapters, {} tensors", pt, model_path, out,
               file.specs.size(), file.weights.size());
  return kOk;
}

}  // namespace

CommandRunner add_import_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "import", "Convert a NeMo .nemo model into an asr-adapt .h5 checkpoint (mmap-able, read-only weights)");
  auto in = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  auto adapters = std::make_shared<std::string>();
  auto base = std::make_shared<std::string>();
  auto* model_opt = cmd->add_option("MODEL", *in, "The .nemo file (plain or gzip tar; an .h5 is re-written)")
                        ->check(CLI::ExistingFile);
  auto* adapters_opt =
      cmd->add_option("--adapters", *adapters, "Import NeMo's save_adapters() file (.pt) instead, onto --model")
          ->check(CLI::ExistingFile)
          ->excludes(model_opt);
  auto* base_opt = cmd->add_option("--model", *base, "The base model the --adapters file belongs to (.nemo or .h5)")
                       ->check(CLI::ExistingFile)
                       ->needs(adapters_opt);
  adapters_opt->needs(base_opt);
  cmd->add_option("-o,--output", *out, "Output .h5 path (default: the input with the extension .h5)");
  cmd->add_flag("-f,--force", *force, "Replace the output file if it exists");
  cmd->footer("The checkpoint holds every state-dict tensor as a contiguous dataset under /weights, the "
              "model config YAML and the SentencePiece model; see docs/checkpoint-format.md. With --adapters "
              "the output is an asr-adapt adapter file for that model (export --adapter takes it).");
  cmd->parse_complete_callback([=] {  // a usage error (exit 2), raised while parsing
    if (in->empty() && adapters->empty()) throw CLI::RequiredError("MODEL (or --adapters FILE --model MODEL)");
  });
  return [=]() -> int {
    if (!adapters->empty()) return run_import_adapters(*adapters, *base, *out, *force);
    return run_import(*in, *out, *force);
  };
}

}  // namespace asr::cli
