#pragma once
// Adapters as NeMo stores them (shared/specs/nemo-conformer-ctc.md §5): the cfg.adapters section
// of model_config.yaml, NeMo's save_adapters() file, and an adapted model exported as a .nemo
// that EncDecCTCModelBPE.restore_from() loads with its adapters (enabled as saved).
#include <cstdint>
#include <string>
#include <vector>

#include "asr/io/model_file.h"
#include "asr/models/conformer_ctc.h"

namespace asr::models {

// NeMo's class paths.
extern const char* const kNemoConformerEncoderAdapter;  // encoder._target_ of an adapted model
extern const char* const kNemoLinearAdapter;
extern const char* const kNemoRelPositionMhaAdapter;

// ---- cfg.adapters <-> AdapterSpec ---------------------------------------------------------

// The adapters a model_config.yaml declares under `adapters:` (insertion order; module from
// global_cfg.adapter_meta_cfg.modules, '' = encoder; `enabled` defaults to true). Empty when the
// config has no adapters section. Unsupported types or values throw naming `source` and the key.
std::vector<AdapterSpec> adapter_specs_from_config(const std::string& config_yaml, const std::string& source);

// The `adapters:` section NeMo writes for `specs` on a model of width `d_model` (top key
// "adapters", block style like OmegaConf.to_yaml). An adapter placed on a subset of encoder
// layers cannot be expressed (NeMo adds encoder adapters to every layer) and throws.
std::string nemo_adapters_yaml(const std::vector<AdapterSpec>& specs, int64_t d_model);

// `base_yaml` with encoder._target_ set to ConformerEncoderAdapter and its adapters section
// replaced by `specs` (removed when `specs` is empty); every other line is kept as it was. The
// result is re-parsed and checked to declare exactly `specs`.
std::string config_with_adapters(const std::string& base_yaml, const std::vector<AdapterSpec>& specs,
                                 int64_t d_model, const std::string& source);

// ---- NeMo's save_adapters() file ------------------------------------------------------------

struct NemoAdapters {
  std::vector<AdapterSpec> specs;  // the adapters the file holds weights for, in cfg order
  io::StateDict weights;           // model keys: encoder.layers.<i>.adapter_layer.<name>.*, decoder.adapter_layer.*
};

// Reads torch.save({key: [state dict per owning module], '__cfg__': cfg.adapters}) as NeMo's
// save_adapters writes it ('__cfg__' a pickled DictConfig, or a plain dict as we write it) for a
// model with `n_layers` encoder layers. Only the keys "<name>.*" of each state dict are taken
// (NeMo filters by substring, so "AN4" also collects "AN4-v2.*"). Errors name `path` and the key.
NemoAdapters read_nemo_adapters(const std::string& path, int64_t n_layers);

// Writes `model`'s adapters (all, enabled flags as they are) the way save_adapters does, with
// '__cfg__' as a plain dict (NeMo's load_adapters reads it; torch.load(weights_only=True) too).
void write_nemo_adapters(const std::string& path, const ConformerCtcModel& model);

// ---- the adapted model as a .nemo -----------------------------------------------------------

// Writes `base` (loaded from the .nemo `base_path`) with `model`'s adapters to `out_path`: the
// rewritten config, the base weights (adapter keys replaced by the model's) and every other base
// member byte for byte. Refuses a model without adapters. The written file is read back and
// checked (same base weights, adapter weights and specs) before returning.
void export_adapted_nemo(const std::string& out_path, const std::string& base_path, const io::ModelFile& base,
                         const ConformerCtcModel& model);

// True for a state key that belongs to an adapter ("....adapter_layer.<name>....").
bool is_adapter_key(const std::string& key);

}  // namespace asr::models
