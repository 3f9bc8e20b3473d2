// `asr-adapt init --config MODEL_CONFIG.yaml --tokenizer TOKENIZER.model -o BASE.h5`: a new,
// randomly initialised Conformer-CTC in NeMo's architecture, the starting point of a base model
// trained from scratch with `asr-adapt train` (model.train_mode: full).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "asr/models/model_init.h"
#include "commands.h"

namespace asr::cli {
namespace {

struct Options {
  std::string config, tokenizer, out;
  uint64_t seed = 1234;
  bool force = false;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(str_cat(path, ": cannot read"));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int run_init(const Options& o) {
  if (!o.force && std::filesystem::exists(o.out))
    throw Error(str_cat(o.out, ": already exists (pass --force to replace it)"));
  const io::ModelFile mf = models::init_model(read_bytes(o.config), o.config, read_bytes(o.tokenizer), o.seed);
  io::write_model_h5(mf, o.out);
  int64_t params = 0;
  for (const auto& [k, t] : mf.weights)
    if (k.rfind("preprocessor.", 0) != 0 && k.find("running_") == std::string::npos &&
        k.find("num_batches_tracked") == std::string::npos)
      params += t.numel();
  spdlog::info("init: {}: d_model {}, {} layers, {} outputs, {} parameters (seed {})", o.out,
               mf.config.encoder.d_model, mf.config.encoder.n_layers, mf.config.decoder.num_classes + 1, params,
               o.seed);
  return kOk;
}

}  // namespace

CommandRunner add_init_command(CLI::App& app) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("init", "Create an untrained model from a NeMo model config and a tokenizer");
  cmd->add_option("--config", o->config, "NeMo model_config.yaml (EncDecCTCModelBPE; e.g. configs/models/*.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--tokenizer", o->tokenizer, "SentencePiece model (spm_train's .model)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", o->out, "Output asr-adapt .h5 checkpoint")->required();
  cmd->add_option("--seed", o->seed, "Seed of the random initialisation (default 1234)");
  cmd->add_flag("--force", o->force, "Replace an existing output file");
  cmd->footer("Train it from scratch with `asr-adapt train` and model.train_mode: full (configs/full_finetune.yaml).");
  return [o] { return run_init(*o); };
}

}  // namespace asr::cli
