// ConformerCtcModel's adapter API: placement by name, enabling, freezing the base model and the
// flat parameter/gradient buffers of the trainable adapter parameters.
#include <algorithm>

#include "asr/autograd/node.h"
#include "asr/models/layers.h"
#include "asr/ops/ops.h"
#include "conformer_ctc_impl.h"

namespace asr::models {

namespace {
// "module:name" -> (encoder?, decoder?, name), as ASRAdapterModelMixin resolves it.
void parse_adapter_name(const std::string& full, bool& enc, bool& dec, std::string& name) {
  const size_t colon = full.find(':');
  const std::string module = colon == std::string::npos ? "" : full.substr(0, colon);
  name = colon == std::string::npos ? full : full.substr(colon + 1);
  enc = module.empty() || module == "encoder" || module == "encoder+decoder";
  dec = module == "decoder" || module == "encoder+decoder";
  if (!enc && !dec)
    throw Error("add_adapter: unsupported module '" + module + "' in '" + full +
                "' (supported: encoder, decoder, encoder+decoder)");
}
}  // namespace

void ConformerCtcModel::add_adapter(const std::string& full_name, const AdapterConfig& cfg,
                                    const std::vector<int64_t>& layers) {
  bool enc = false, dec = false;
  std::string name;
  parse_adapter_name(full_name, enc, dec, name);
  for (const auto& n : impl_->adapter_names)
    if (n == name) throw Error("add_adapter: an adapter named '" + name + "' already exists");
  if (dec && cfg.type != AdapterType::Linear)
    throw Error("add_adapter: '" + full_name + "': the decoder accepts LinearAdapter only");
  if (!enc && !layers.empty())
    throw Error("add_adapter: '" + full_name + "': layer indices apply to encoder adapters only");
  ConformerEncoder& e = *impl_->encoder;
  std::vector<int64_t> idx = layers;
  if (enc && idx.empty())
    for (int64_t i = 0; i < e.num_layers(); ++i) idx.push_back(i);
  for (int64_t i : idx)
    if (i < 0 || i >= e.num_layers())
      throw Error(str_cat("add_adapter: '", full_name, "': layer index ", i, " out of range [0, ",
                          e.num_layers(), ")"));
  const int64_t d = config_.encoder.d_model;
  for (int64_t i : idx) e.layer(i).adapter_layer(impl_->adapter_rt).add(name, cfg, d, dtype_, *impl_->adapter_init);
  if (dec) {
    if (!impl_->decoder_adapters) {
      // A child of the model named "decoder.adapter_layer" gives NeMo's decoder keys without
      // changing ConvAsrDecoder.
      impl_->decoder_adapters =
          register_module("decoder.adapter_layer", std::make_shared<AdapterSet>(impl_->adapter_rt));
      impl_->decoder_adapters->train(impl_->decoder->is_training());
    }
    impl_->decoder_adapters->add(name, cfg, d, dtype_, *impl_->adapter_init);
  }
  impl_->adapter_names.push_back(name);
  AdapterSpec spec;
  spec.name = name;
  spec.module = enc && dec ? "encoder+decoder" : dec ? "decoder" : "encoder";
  spec.layers = layers;
  spec.config = cfg;
  impl_->adapter_specs.push_back(spec);
}

void ConformerCtcModel::add_adapter(const AdapterSpec& spec) {
  add_adapter(spec.full_name(), spec.config, spec.layers);
  if (!spec.enabled) set_adapter_enabled(spec.name, false);
}

std::vector<AdapterSpec> ConformerCtcModel::adapter_specs() const {
  std::vector<AdapterSpec> out = impl_->adapter_specs;
  const std::vector<std::string> on = enabled_adapters();
  for (auto& s : out) s.enabled = std::find(on.begin(), on.end(), s.name) != on.end();
  return out;
}

namespace {
template <typename F>
void for_each_set(ConformerEncoder& e, AdapterSet* dec, F f) {
  for (int64_t i = 0; i < e.num_layers(); ++i)
    if (AdapterSet* s = e.layer(i).adapter_layer_if_any()) f(*s);
  if (dec) f(*dec);
}
}  // namespace

void ConformerCtcModel::set_adapter_enabled(const std::string& name, bool enabled) {
  bool found = false;
  for_each_set(*impl_->encoder, impl_->decoder_adapters.get(), [&](AdapterSet& s) {
    if (s.has(name)) {
      s.set_enabled(name, enabled);
      found = true;
    }
  });
  if (!found) throw Error("set_adapter_enabled: no adapter named '" + name + "'");
}

void ConformerCtcModel::set_all_adapters_enabled(bool enabled) {
  for (const auto& n : impl_->adapter_names) set_adapter_enabled(n, enabled);
}

std::vector<std::string> ConformerCtcModel::adapter_names() const { return impl_->adapter_names; }

std::vector<std::string> ConformerCtcModel::enabled_adapters() const {
  std::vector<std::string> out;
  for (const auto& n : impl_->adapter_names) {
    bool on = false;
    for_each_set(*impl_->encoder, impl_->decoder_adapters.get(), [&](AdapterSet& s) {
      if (s.has(n) && s.is_enabled(n)) on = true;
    });
    if (on) out.push_back(n);
  }
  return out;
}

void ConformerCtcModel::freeze_base_for_adapters() {
  const std::vector<std::string> enabled = enabled_adapters();
  if (enabled.empty()) throw Error("freeze_base_for_adapters: no enabled adapters to train");
  set_requires_grad(false);
  ConformerEncoder& e = *impl_->encoder;
  for (int64_t i = 0; i < e.num_layers(); ++i) e.layer(i).conv().set_batch_norm_frozen(true);
  for_each_set(e, impl_->decoder_adapters.get(), [&](AdapterSet& s) {
    for (const auto& n : s.names())
      if (s.is_enabled(n)) s.adapter(n).set_requires_grad(true);
  });
  flatten_trainable_parameters();
}

void ConformerCtcModel::prepare_full_training() {
  set_requires_grad(true);
  ConformerEncoder& e = *impl_->encoder;
  for (int64_t i = 0; i < e.num_layers(); ++i) e.layer(i).conv().set_batch_norm_frozen(false);
  // BatchNorm running statistics update in place: give every buffer private, writable storage
  // (a loaded model's buffers may be the read-only mmap of its checkpoint).
  autograd::NoGradGuard ng;
  for (auto& [n, b] : named_buffers()) nn::repoint(b, b.contiguous().clone());
  flatten_trainable_parameters();
}

void ConformerCtcModel::flatten_trainable_parameters() {
  // One contiguous parameter buffer and one gradient buffer, in state-dict order.
  std::vector<Tensor> params;
  int64_t total = 0;
  for (auto& [n, p] : named_parameters())
    if (p.requires_grad()) {
      params.push_back(p);
      total += p.numel();
    }
  if (params.empty()) throw Error("ConformerCtcModel: no trainable parameters to flatten");
  Tensor flat_p = Tensor::zeros({total}, dtype_, params.front().device());
  Tensor flat_g = Tensor::zeros({total}, dtype_, params.front().device());
  autograd::NoGradGuard ng;
  int64_t off = 0;
  for (Tensor& p : params) {
    const int64_t n = p.numel();
    Tensor slot = flat_p.narrow(0, off, n).view(p.shape());
    slot.copy_(p.detach());
    nn::repoint(p, slot);  // the parameter now lives in its slice of the flat buffer
    p.set_grad_buffer(flat_g.narrow(0, off, n).view(p.shape()));
    off += n;
  }
  impl_->flat_params = flat_p;
  impl_->flat_grads = flat_g;
}


void ConformerCtcModel::set_adapter_training_mode() {
  train(false);
  for_each_set(*impl_->encoder, impl_->decoder_adapters.get(), [&](AdapterSet& s) {
    for (const auto& n : s.names())
      if (s.is_enabled(n)) s.adapter(n).train(true);
  });
}

void ConformerCtcModel::to_device(Device device) {
  autograd::NoGradGuard ng;
  nn::Module::to_device(device);
  if (impl_->flat_params.defined()) flatten_trainable_parameters();
}

int64_t ConformerCtcModel::convert_frozen_linear_weights(DType dtype) {
  ASR_CHECK(dtype == DType::BF16 || dtype == dtype_, "convert_frozen_linear_weights", "supports bf16 (or ",
            dtype_name(dtype_), " to undo nothing), got ", dtype_name(dtype));
  autograd::NoGradGuard ng;
  int64_t converted = 0;
  auto convert = [&](const Tensor& w) {
    if (!w.defined() || w.requires_grad() || w.dtype() == dtype) return;
    nn::repoint(w, w.detach().to(dtype).contiguous());
    ++converted;
  };
  visit([&](nn::Module& m) {
    if (auto* lin = dynamic_cast<nn::Linear*>(&m)) convert(lin->weight());
    if (auto* conv = dynamic_cast<Conv1d*>(&m); conv && conv->is_pointwise()) convert(conv->weight());
  });
  return converted;
}

const Tensor& ConformerCtcModel::flat_parameters() const { return impl_->flat_params; }
const Tensor& ConformerCtcModel::flat_gradients() const { return impl_->flat_grads; }

int64_t ConformerCtcModel::num_trainable_parameters() const {
  int64_t n = 0;
  for (const auto& [name, p] : named_parameters())
    if (p.requires_grad()) n += p.numel();
  return n;
}

Tensor ConformerCtcModel::auxiliary_loss() const {
  const auto& l = impl_->adapter_rt->aux_losses;
  if (l.empty()) return Tensor();
  Tensor s = l.front();
  for (size_t i = 1; i < l.size(); ++i) s = ops::add(s, l[i]);
  return s;
}

}  // namespace asr::models
