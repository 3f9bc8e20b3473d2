#pragma once
// A pretrained model on disk, either a NeMo .nemo archive or asr-adapt's own HDF5 checkpoint
// (docs/checkpoint-format.md). Frozen weights from an .h5 are mmap'ed read-only: ranks on one
// node share one physical copy and any write through the core is refused (Tensor::read_only).
#include <map>
#include <string>

#include "asr/core/tensor.h"
#include "asr/io/model_config.h"

namespace asr::io {

// NeMo state-dict key -> tensor, in key order.
using StateDict = std::map<std::string, Tensor>;

struct ModelFile {
  std::string path;
  ModelConfig config;
  StateDict weights;
  std::string tokenizer_model;  // the SentencePiece model's bytes
};

// Loads a .nemo (plain or gzip tar) or .h5 file, detected by content. Errors name the file and
// the problem (truncated archive, missing weights, unknown pickle global, unsupported config...).
ModelFile load_model_file(const std::string& path);

// What a model file is, from its first bytes (not its name): a plain tar (.nemo), a gzip tar
// (pre-1.7 .nemo) or HDF5 (.h5). Anything else throws naming the file.
enum class FileKind { NemoTar, NemoGzip, Hdf5 };
FileKind detect_file_kind(const std::string& path);
const char* file_kind_name(FileKind kind);

// The state-dict keys and shapes NeMo's EncDecCTCModelBPE has for `config` (encoder and decoder
// parameters and buffers; preprocessor buffers when `with_preprocessor`).
std::map<std::string, Shape> expected_weight_shapes(const ModelConfig& config, bool with_preprocessor = true);

// Checks `weights` against expected_weight_shapes: a missing key, a wrong shape or an unknown
// encoder/decoder key (adapters and NeMo's optional buffers excepted) throws naming `source`.
void check_weights(const ModelConfig& config, const StateDict& weights, const std::string& source);

// Writes asr-adapt's HDF5 checkpoint atomically (temp file + rename): one contiguous dataset per
// state-dict key (same names), the config YAML and the tokenizer bytes.
void write_model_h5(const ModelFile& model, const std::string& out_path);

}  // namespace asr::io
