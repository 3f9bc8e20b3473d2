#pragma once
// A model ready for greedy inference, as `transcribe` and `eval` load it: the model file, its
// tokenizer and preprocessor, the Conformer-CTC in eval mode, and any trained adapter files
// applied on top (refused when trained on a different base model).
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "asr/audio/features.h"
#include "asr/io/model_file.h"
#include "asr/models/adapter_file.h"
#include "asr/models/conformer_ctc.h"
#include "asr/text/tokenizer.h"

namespace asr::cli {

class InferenceModel {
 public:
  // Builds the model of `mf` and applies `adapters` (read from `adapter_paths`) in order.
  InferenceModel(io::ModelFile mf, const std::vector<models::AdapterFile>& adapters,
                 const std::vector<std::string>& adapter_paths);

  io::ModelFile file;
  text::Tokenizer tokenizer;
  audio::FeatureExtractor features;
  std::unique_ptr<models::ConformerCtcModel> model;
};

// Where and in what precision inference runs (--device, --precision of eval and transcribe).
struct InferencePlacement {
  std::string device = "cpu";     // cpu | cuda (GPU 0)
  std::string precision = "fp32"; // fp32 | bf16 (the GEMM weights in bf16, f32 accumulation)
};
// Adds --device and --precision to `cmd`.
void add_placement_options(CLI::App* cmd, InferencePlacement* placement);

// Reads the adapter files first (a bad path fails before the slow model load), then the model
// file. `legacy_features`: NeMo < 2.5 feature framing. The model is then placed as asked.
std::unique_ptr<InferenceModel> load_inference_model(const std::string& model_path, bool legacy_features,
                                                     const std::vector<std::string>& adapter_paths,
                                                     const InferencePlacement& placement = {});

}  // namespace asr::cli
