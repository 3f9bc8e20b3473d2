#pragma once
// A new, untrained model in NeMo's architecture: what `asr-adapt init` writes before a base model
// is trained from scratch (model.train_mode: full). The weights are PyTorch's default init drawn
// from `seed`; the preprocessor buffers are computed from the config, as NeMo does.
#include <cstdint>
#include <string>

#include "asr/io/model_file.h"

namespace asr::models {

// `config_yaml` is a NeMo model_config.yaml (EncDecCTCModelBPE; see configs/models/); its
// decoder.num_classes must equal the SentencePiece model's vocabulary size (the error says which
// value to write). `source` names the config in messages.
io::ModelFile init_model(const std::string& config_yaml, const std::string& source,
                         const std::string& sentencepiece_model_bytes, uint64_t seed);

}  // namespace asr::models
