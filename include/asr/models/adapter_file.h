#pragma once
// The trained adapter on disk: a small HDF5 file with only the adapter weights (NeMo state-dict
// keys), the adapter specs (NeMo's adapter config + placement) and the fingerprint of the base
// model's frozen weights. Loading it onto a different base model is an error naming both
// fingerprints. Written atomically (temp + fsync + rename).
#include <string>
#include <vector>

#include "asr/io/model_file.h"
#include "asr/models/conformer_ctc.h"

namespace asr::models {

struct AdapterFile {
  std::vector<AdapterSpec> specs;  // insertion order
  io::StateDict weights;           // encoder.layers.<i>.adapter_layer.<name>.*, decoder.adapter_layer.*
  std::string base_fingerprint;    // base_model_fingerprint() of the model they were trained on
  std::string base_model;          // the base model's path when saved (information only)
};

// Digest of the frozen base model: every non-adapter, non-preprocessor state key with its dtype,
// shape and bytes (hex string). Equal for a .nemo and its `asr-adapt import`ed .h5.
std::string base_model_fingerprint(const io::StateDict& weights);
std::string base_model_fingerprint(const ConformerCtcModel& model);  // same digest from a model

// Saves the named adapters (empty = all) of `model`: their specs (enabled flags as they are now)
// and current weights. An unknown name is an error. Layout: docs/checkpoint-format.md.
void save_adapter_file(const std::string& path, const ConformerCtcModel& model,
                       const std::vector<std::string>& names, const std::string& base_fingerprint,
                       const std::string& base_model);
// Errors name the file: missing, not HDF5 (truncated/corrupt), not an adapter file, unknown
// schema version, malformed adapters_json, weight count mismatch.
AdapterFile read_adapter_file(const std::string& path);
// The same for the file's bytes already in memory (an HDF5 file image); `source` names it in errors.
AdapterFile read_adapter_file_image(const std::string& image, const std::string& source);
// Adds every adapter of `file` to `model` (enabled as saved) and loads copies of its weights.
// Throws naming `file_path` when the fingerprint differs from `model_fingerprint` ("adapter trained
// on a different base model", both fingerprints), a name already exists, or a weight is
// missing/mis-shaped/unclaimed. The first two leave the model untouched; after a weight error the
// adapters are already added, so discard the model.
void apply_adapter_file(ConformerCtcModel& model, const AdapterFile& file,
                        const std::string& model_fingerprint, const std::string& file_path);

}  // namespace asr::models
