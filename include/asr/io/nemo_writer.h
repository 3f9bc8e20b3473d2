#pragma once
// Writes a NeMo .nemo archive (docs/checkpoint-format.md, "Writing a .nemo"): an uncompressed
// tar of ./model_config.yaml, ./model_weights.ckpt (torch.save of the state dict) and the
// artifacts the config refers to as "nemo:<member>" (tokenizer model and vocab files), copied
// byte for byte from the base archive. Written atomically (temp file + fsync + rename).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "asr/io/model_file.h"

namespace asr::io {

// Every regular member of the .nemo at `path` except model_config.yaml and model_weights.ckpt
// (names without "./"). Throws naming `path` for an .h5 or unreadable archive.
std::map<std::string, std::string> read_nemo_artifacts(const std::string& path);

// Every "nemo:<member>" value in `config_yaml` (tokenizer.model_path, vocab_path, ...), in
// document order, as (dotted key, member).
std::vector<std::pair<std::string, std::string>> nemo_artifact_references(const std::string& config_yaml,
                                                                         const std::string& source);

// Writes the archive. Each artifact referenced by the config must be in `artifacts` (else the
// error names the key and member); unreferenced artifacts are kept too, as NeMo keeps them.
void write_nemo(const std::string& path, const std::string& config_yaml, const StateDict& weights,
                const std::map<std::string, std::string>& artifacts);

// NeMo's transcribe() reads cfg.validation_ds, which a config written for `asr-adapt init` may
// lack: config.yaml with an empty validation_ds (no manifest; the preprocessor's sample rate)
// appended when it has none, else unchanged. `source` names the config in a YAML error.
std::string with_validation_ds(const ModelConfig& config, const std::string& source);

// A whole model (no adapters added here) as a .nemo: e.g. a base model trained from scratch by
// asr-adapt. Artifacts come from the source .nemo, or for an .h5 source from its stored
// SentencePiece model (the config's tokenizer.model_path member) and `generated` (member name ->
// bytes, e.g. vocab.txt made from the tokenizer); a "nemo:" reference neither supplies is an error
// naming it. The config gets validation_ds if it has none (above). The written file is read back
// and compared.
void write_model_nemo(const std::string& path, const ModelFile& model,
                      const std::map<std::string, std::string>& generated = {});

}  // namespace asr::io
