#include "inference_model.h"

#include "asr/backend/backend.h"
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

void add_placement_options(CLI::App* cmd, InferencePlacement* placement) {
  cmd->add_option("--device", placement->device, "cpu (default) or cuda (the first GPU)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--precision", placement->precision,
                  "fp32 (default) or bf16: the model's GEMM weights in bf16 with f32 accumulation (for GPUs)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
}

std::unique_ptr<InferenceModel> load_inference_model(const std::string& model_path, bool legacy_features,
                                                     const std::vector<std::string>& adapter_paths,
                                                     const InferencePlacement& placement) {
  std::vector<models::AdapterFile> adapters;
  for (const auto& p : adapter_paths) adapters.push_back(models::read_adapter_file(p));
  const Device device = placement.device == "cuda" ? Device::cuda(0) : Device::cpu();
  if (device.is_cuda()) {
    try {
      (void)backend_for(device);  // no GPU: say so before the slow model load
    } catch (const Error& e) {
      throw Error(str_cat("--device cuda: ", e.what()));
    }
  }
  io::ModelFile mf = io::load_model_file(model_path);
  if (legacy_features) mf.config.preprocessor.legacy_nemo_pre_2_5 = true;
  auto m = std::make_unique<InferenceModel>(std::move(mf), adapters, adapter_paths);
  if (!device.is_cpu()) m->model->to_device(device);
  if (placement.precision == "bf16") {
    m->model->set_requires_grad(false);  // inference: every weight is frozen, adapters included
    m->model->convert_frozen_linear_weights(DType::BF16);
  }
  return m;
}

}  // namespace asr::cli
