// `asr-adapt export`: the base model plus trained adapter files, written for NeMo: either a whole
// adapted .nemo (EncDecCTCModelBPE.restore_from loads it with its adapters) or, with
// --nemo-adapters, the adapters alone as NeMo's save_adapters() file (model.load_adapters()).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "asr/io/model_file.h"
#include "asr/io/nemo_writer.h"
#include "asr/text/tokenizer.h"
#include "asr/models/adapter_file.h"
#include "asr/models/nemo_adapters.h"
#include "commands.h"

namespace asr::cli {
namespace {

struct ExportOptions {
  std::string model, out;
  std::vector<std::string> adapters, disable;
  bool nemo_adapters = false, force = false;
};

int run_export(const ExportOptions& o) {
  std::error_code ec;
  if (std::filesystem::equivalent(o.model, o.out, ec))
    throw Error(str_cat(o.out, ": the output would overwrite the base model"));
  for (const auto& a : o.adapters)
    if (std::filesystem::equivalent(a, o.out, ec)) throw Error(str_cat(o.out, ": the output would overwrite an adapter file"));
  if (!o.force && std::filesystem::exists(o.out))
    throw Error(str_cat(o.out, ": already exists (pass --force to replace it)"));
  if (o.adapters.empty() && !o.nemo_adapters) {  // the model itself, e.g. a base trained from scratch
    const io::ModelFile model = io::load_model_file(o.model);
    for (const auto& [k, t] : model.weights)
      if (models::is_adapter_key(k)) throw Error(str_cat(o.model, ": has adapters; pass them as --adapter files"));
    // An .h5 carries the SentencePiece model only; NeMo also wants the vocab files made from it.
    const text::Tokenizer tokenizer = text::Tokenizer::from_sentencepiece(model.tokenizer_model, o.model);
    std::map<std::string, std::string> generated;
    for (const auto& [key, member] : io::nemo_artifact_references(model.config.yaml, o.model)) {
      if (key == "tokenizer.vocab_path") generated[member] = tokenizer.nemo_vocab_txt();
      if (key == "tokenizer.spe_tokenizer_vocab") generated[member] = tokenizer.spe_vocab_file();
    }
    io::write_model_nemo(o.out, model, generated);
    spdlog::info("exported {} -> {} (.nemo, {:.2f} MiB)", o.model, o.out,
                 static_cast<double>(std::filesystem::file_size(o.out)) / (1 << 20));
    return kOk;
  }
  if (!o.nemo_adapters && io::detect_file_kind(o.model) == io::FileKind::Hdf5)
    throw Error(str_cat(o.model, ": an .h5 base lacks the tokenizer vocab files a .nemo must carry; pass the "
                                 "original .nemo as --model (adapter files made on the .h5 fit it: same fingerprint)"));

  const io::ModelFile base = io::load_model_file(o.model);
  auto model = models::load_ctc_model(base);
  const std::string fingerprint = models::base_model_fingerprint(base.weights);
  for (const auto& path : o.adapters) models::apply_adapter_file(*model, models::read_adapter_file(path), fingerprint, path);
  for (const auto& name : o.disable) {
    const std::vector<std::string> names = model->adapter_names();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "'" : ", '") + n + "'";
      throw Error(str_cat("--disable ", name, ": no such adapter (the model has ", known.empty() ? "none" : known, ")"));
    }
    model->set_adapter_enabled(name, false);
  }
  if (model->adapter_names().empty())
    throw Error(str_cat(o.model, ": no adapters to export (pass --adapter FILE)"));

  if (o.nemo_adapters)
    models::write_nemo_adapters(o.out, *model);
  else
    models::export_adapted_nemo(o.out, o.model, base, *model);

  for (const auto& s : model->adapter_specs())
    spdlog::info("  adapter '{}' ({}, {}): {}", s.name, s.module,
                 s.config.type == models::AdapterType::Linear ? "LinearAdapter" : "RelPositionMultiHeadAttentionAdapter",
                 s.enabled ? "enabled" : "disabled");
  spdlog::info("exported {} -> {} ({}, {:.2f} MiB)", o.model, o.out,
               o.nemo_adapters ? "NeMo save_adapters file" : "adapted .nemo",
               static_cast<double>(std::filesystem::file_size(o.out)) / (1 << 20));
  return kOk;
}

}  // namespace

CommandRunner add_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Export a model with its adapters for NeMo: an adapted .nemo, or NeMo's "
                                           "save_adapters file (--nemo-adapters)");
  auto o = std::make_shared<ExportOptions>();
  cmd->add_option("--model", o->model, "The base model (.nemo; an .h5 only with --nemo-adapters)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--adapter", o->adapters, "An asr-adapt adapter file (.h5) trained on this model; repeatable")
      ->check(CLI::ExistingFile);
  cmd->add_option("--disable", o->disable, "Export adapter NAME disabled (cfg.adapters.NAME.enabled: false); repeatable");
  cmd->add_option("-o,--output", o->out, "Output path (.nemo, or .pt with --nemo-adapters)")->required();
  cmd->add_flag("--nemo-adapters", o->nemo_adapters,
                "Write only the adapters, as NeMo's model.save_adapters() does (for model.load_adapters())");
  cmd->add_flag("-f,--force", o->force, "Replace the output file if it exists");
  cmd->footer(
      "The .nemo keeps the base archive's tokenizer files byte for byte, sets encoder._target_ to "
      "ConformerEncoderAdapter and declares the adapters in cfg.adapters, so NeMo's restore_from() "
      "rebuilds them (enabled as saved). Adapters already in the base model are kept. The written "
      "file is read back and checked. See docs/checkpoint-format.md.");
  return [o] { return run_export(*o); };
}

}  // namespace asr::cli
