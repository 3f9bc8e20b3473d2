#include "asr/models/conformer_ctc.h"

#include "asr/models/conformer_encoder.h"
#include "asr/models/conv_asr_decoder.h"
#include "asr/models/nemo_adapters.h"
#include "asr/ops/ops.h"
#include "conformer_ctc_impl.h"
#include "masks.h"

namespace asr::models {

namespace {
int64_t vocabulary_size(const io::DecoderConfig& d) {
  const int64_t v = d.num_classes > 0 ? d.num_classes : static_cast<int64_t>(d.vocabulary.size());
  if (v <= 0)
    throw Error("ConformerCtcModel: decoder.num_classes is missing and decoder.vocabulary is empty");
  return v;
}
}  // namespace

ConformerCtcModel::ConformerCtcModel(const io::ModelConfig& config, Generator& gen, DType dtype)
    : config_(config), dtype_(dtype), impl_(std::make_unique<Impl>()) {
  ASR_CHECK(dtype == DType::F32 || dtype == DType::F64, "ConformerCtcModel",
            "dtype must be f32 or f64, got ", dtype_name(dtype));
  if (config.decoder.feat_in != config.encoder.d_model)
    throw Error(str_cat("ConformerCtcModel: decoder.feat_in ", config.decoder.feat_in,
                        " differs from encoder.d_model ", config.encoder.d_model));
  impl_->dropout_gen = std::make_shared<Generator>(Generator::hash(gen.seed(), gen.reserve(1)));
  impl_->adapter_rt = std::make_shared<AdapterRuntime>();
  impl_->adapter_rt->gen = impl_->dropout_gen;
  // Adapter init draws from its own stream so adding adapters never shifts the base model's init.
  impl_->adapter_init = std::make_unique<Generator>(Generator::hash(impl_->dropout_gen->seed(), 0xada));
  impl_->encoder = register_module("encoder",
                                   std::make_shared<ConformerEncoder>(config.encoder, gen, impl_->dropout_gen));
  impl_->decoder = register_module(
      "decoder", std::make_shared<ConvAsrDecoder>(config.encoder.d_model, vocabulary_size(config.decoder), gen));
  if (dtype != DType::F32) convert_floating_state(*this, dtype);
}

ConformerCtcModel::~ConformerCtcModel() = default;

CtcOutput ConformerCtcModel::forward(const Tensor& features, const Tensor& lengths) const {
  ASR_CHECK(features.defined() && features.dim() == 3 && is_floating(features.dtype()),
            "ConformerCtcModel.forward", "features must be a float [B, n_mels, T] tensor, got ",
            features.defined() ? features.describe() : std::string("undefined"));
  ASR_CHECK(features.size(0) >= 1 && features.size(2) >= 1, "ConformerCtcModel.forward",
            "empty batch ", features.describe());
  std::vector<int64_t> lens =
      detail::lengths_vector(lengths, features.size(0), features.size(2), "ConformerCtcModel.forward");
  Tensor f = features.dtype() == dtype_ ? features : features.to(dtype_);
  const Device dev = device();
  if (f.device() != dev) f = f.to(dev);  // callers hand CPU batches to a model on the GPU
  impl_->adapter_rt->aux_losses.clear();
  EncoderOutput enc = impl_->encoder->forward(f, lens);
  CtcOutput out;
  Tensor dec_in = enc.x;
  if (impl_->decoder_adapters)
    dec_in = impl_->decoder_adapters->forward_post(dec_in);
  out.log_probs = impl_->decoder->forward(dec_in);
  out.lengths = Tensor::from_vector(enc.lengths, {static_cast<int64_t>(enc.lengths.size())});
  if (!dev.is_cpu()) out.lengths = out.lengths.to(dev);
  out.encoded = enc.x.transpose(1, 2);
  return out;
}

int64_t ConformerCtcModel::blank() const { return impl_->decoder->num_outputs() - 1; }
int64_t ConformerCtcModel::num_outputs() const { return impl_->decoder->num_outputs(); }
ConformerEncoder& ConformerCtcModel::encoder() { return *impl_->encoder; }
const ConformerEncoder& ConformerCtcModel::encoder() const { return *impl_->encoder; }
ConvAsrDecoder& ConformerCtcModel::decoder() { return *impl_->decoder; }
const ConvAsrDecoder& ConformerCtcModel::decoder() const { return *impl_->decoder; }
Generator& ConformerCtcModel::dropout_generator() { return *impl_->dropout_gen; }
Generator& ConformerCtcModel::adapter_init_generator() { return *impl_->adapter_init; }

std::unique_ptr<ConformerCtcModel> load_ctc_model(const io::ModelFile& file) {
  Generator gen(0);  // the random init is overwritten by the checkpoint
  auto model = std::make_unique<ConformerCtcModel>(file.config, gen);
  // An adapted model (exported by NeMo or by asr-adapt) declares its adapters in cfg.adapters;
  // they are built (enabled as declared) before the strict load fills them.
  const std::vector<AdapterSpec> specs = adapter_specs_from_config(file.config.yaml, file.path + ":model_config.yaml");
  for (const AdapterSpec& spec : specs) {
    try {
      model->add_adapter(spec);
    } catch (const Error& e) {
      throw Error(file.path + ":model_config.yaml: adapters." + spec.name + ": " + e.what());
    }
  }
  io::StateDict weights;
  for (const auto& [key, t] : file.weights) {
    if (key.rfind("preprocessor.", 0) == 0) continue;
    if (specs.empty() && is_adapter_key(key))
      throw Error(str_cat(file.path, ": weight '", key, "' belongs to an adapter, but the config declares no adapters (cfg.adapters)"));
    weights.emplace(key, t);
  }
  try {
    model->load_state_dict(weights, /*strict=*/true);
  } catch (const Error& e) {
    throw Error(file.path + ": " + e.what());
  }
  model->train(false);
  return model;
}

}  // namespace asr::models
