#include "inference_model.h"

#include "asr/models/adapter_file.h"
#include "audio_inputs.h"

namespace asr::cli {
InferenceModel::InferenceModel(io::ModelFile mf, const std::vector<models::AdapterFile>& adapters,
                               const std::vector<std::string>& adapter_paths)
    : file(std::move(mf)),
      tokenizer(text::Tokenizer::from_sentencepiece(file.tokenizer_model, file.path)),
      features(file.config.preprocessor, preprocessor_buffer(file, "preprocessor.featurizer.fb"),
               preprocessor_buffer(file, "preprocessor.featurizer.window")),
      model(models::load_ctc_model(file)) {
  if (tokenizer.vocab_size() != model->blank())
    throw Error(str_cat(file.path, ": the tokenizer has ", tokenizer.vocab_size(), " pieces but the model has ",
                        model->blank(), " outputs before the blank"));
  if (!adapters.empty()) {
    const std::string fingerprint = models::base_model_fingerprint(file.weights);
    for (size_t i = 0; i < adapters.size(); ++i)
      models::apply_adapter_file(*model, adapters[i], fingerprint, adapter_paths.at(i));
  }
  model->train(false);  // adapters joined an eval-mode model; keep everything in eval mode
}

std::unique_ptr<InferenceModel> load_inference_model(const std::string& model_path, bool legacy_features,
                                                     const std::vector<std::string>& adapter_paths) {
  std::vector<models::AdapterFile> adapters;
  for (const auto& p : adapter_paths) adapters.push_back(models::read_adapter_file(p));
  io::ModelFile mf = io::load_model_file(model_path);
  if (legacy_features) mf.config.preprocessor.legacy_nemo_pre_2_5 = true;
  return std::make_unique<InferenceModel>(std::move(mf), adapters, adapter_paths);
}

}  // namespace asr::cli
