// NeMo EncDecCTCModelBPE state-dict layout (key -> shape) derived from the config, and the check
// that a loaded checkpoint matches it (spec: shared/specs/nemo-conformer-ctc.md, section 2).
#include <algorithm>

#include "asr/io/model_file.h"

namespace asr::io {

std::map<std::string, Shape> expected_weight_shapes(const ModelConfig& c, bool with_preprocessor) {
  const EncoderConfig& e = c.encoder;
  const int64_t d = e.d_model, C = e.conv_channels(), H = e.n_heads, ff = d * e.ff_expansion_factor;
  std::map<std::string, Shape> out;
  auto add = [&](const std::string& k, Shape s) { out[k] = std::move(s); };
  auto linear = [&](const std::string& k, int64_t o, int64_t i, bool bias) {
    add(k + ".weight", {o, i});
    if (bias) add(k + ".bias", {o});
  };
  auto norm = [&](const std::string& k) {
    add(k + ".weight", {d});
    add(k + ".bias", {d});
  };

  if (with_preprocessor) {
    const PreprocessorConfig& p = c.preprocessor;
    add("preprocessor.featurizer.window", {p.win_length()});
    add("preprocessor.featurizer.fb", {1, p.features, p.fft_size() / 2 + 1});
  }

  // ConvSubsampling: log2(factor) stride-2 stages of k3 p1 convs; frequency shrinks the same way.
  int64_t stages = 0, freq = e.feat_in;
  for (int64_t f = e.subsampling_factor; f > 1; f /= 2) ++stages;
  for (int64_t s = 0; s < stages; ++s) freq = (freq + 2 - 3) / 2 + 1;
  const std::string pe = "encoder.pre_encode.";
  add(pe + "conv.0.weight", {C, 1, 3, 3});
  add(pe + "conv.0.bias", {C});
  for (int64_t s = 1; s < stages; ++s) {
    if (e.subsampling == "striding") {  // conv.0, ReLU, conv.2, ReLU, ...
      add(pe + "conv." + std::to_string(2 * s) + ".weight", {C, C, 3, 3});
      add(pe + "conv." + std::to_string(2 * s) + ".bias", {C});
    } else {  // dw_striding: conv.0, ReLU, then (depthwise, pointwise, ReLU) per stage
      const std::string dw = std::to_string(2 + 3 * (s - 1)), pw = std::to_string(3 + 3 * (s - 1));
      add(pe + "conv." + dw + ".weight", {C, 1, 3, 3});
      add(pe + "conv." + dw + ".bias", {C});
      add(pe + "conv." + pw + ".weight", {C, C, 1, 1});
      add(pe + "conv." + pw + ".bias", {C});
    }
  }
  linear(pe + "out", d, C * freq, true);

  const bool b = e.use_bias;
  for (int64_t i = 0; i < e.n_layers; ++i) {
    const std::string l = "encoder.layers." + std::to_string(i) + ".";
    for (const char* n : {"norm_feed_forward1", "norm_self_att", "norm_conv", "norm_feed_forward2", "norm_out"})
      norm(l + n);
    for (const char* f : {"feed_forward1", "feed_forward2"}) {
      linear(l + f + ".linear1", ff, d, b);
      linear(l + f + ".linear2", d, ff, b);
    }
    for (const char* q : {"linear_q", "linear_k", "linear_v", "linear_out"}) linear(l + "self_attn." + q, d, d, b);
    add(l + "self_attn.linear_pos.weight", {d, d});
    add(l + "self_attn.pos_bias_u", {H, d / H});
    add(l + "self_attn.pos_bias_v", {H, d / H});
    add(l + "conv.pointwise_conv1.weight", {2 * d, d, 1});
    if (b) add(l + "conv.pointwise_conv1.bias", {2 * d});
    add(l + "conv.depthwise_conv.weight", {d, 1, e.conv_kernel_size});
    if (b) add(l + "conv.depthwise_conv.bias", {d});
    norm(l + "conv.batch_norm");
    if (e.conv_norm_type == "batch_norm") {
      add(l + "conv.batch_norm.running_mean", {d});
      add(l + "conv.batch_norm.running_var", {d});
      add(l + "conv.batch_norm.num_batches_tracked", {});
    }
    add(l + "conv.pointwise_conv2.weight", {d, d, 1});
    if (b) add(l + "conv.pointwise_conv2.bias", {d});
  }
  add("decoder.decoder_layers.0.weight", {c.decoder.num_classes + 1, c.decoder.feat_in, 1});
  add("decoder.decoder_layers.0.bias", {c.decoder.num_classes + 1});
  return out;
}

namespace {
// Keys a NeMo checkpoint may hold beyond the bare model: adapters, encoder-level shared position
// biases (untie_biases: false) and the positional table some old versions saved.
bool tolerated_extra(const std::string& k) {
  return k.compare(0, 13, "preprocessor.") == 0 || k.find(".adapter_layer.") != std::string::npos ||
         k == "encoder.pos_bias_u" || k == "encoder.pos_bias_v" || k == "encoder.pos_enc.pe";
}
bool optional_key(const std::string& k) { return k.compare(0, 13, "preprocessor.") == 0; }
}  // namespace

void check_weights(const ModelConfig& config, const StateDict& weights, const std::string& source) {
  const std::map<std::string, Shape> expected = expected_weight_shapes(config);
  size_t missing = 0;
  std::string first_missing;
  for (const auto& [key, shape] : expected) {
    auto it = weights.find(key);
    if (it == weights.end()) {
      if (optional_key(key)) continue;
      if (missing++ == 0) first_missing = key;
      continue;
    }
    if (it->second.shape() != shape)
      throw Error(str_cat(source, ": weight '", key, "' has shape ", shape_str(it->second.shape()),
                          ", but the model config needs ", shape_str(shape)));
    const std::string tail = "num_batches_tracked";
    const bool counter = key.size() >= tail.size() && key.compare(key.size() - tail.size(), tail.size(), tail) == 0;
    const DType want = counter ? DType::I64 : DType::F32;
    if (it->second.dtype() != want && !(counter && it->second.dtype() == DType::I32))
      throw Error(str_cat(source, ": weight '", key, "' is ", dtype_name(it->second.dtype()), ", expected ",
                          dtype_name(want)));
  }
  if (missing)
    throw Error(str_cat(source, ": weight '", first_missing, "' is missing",
                        missing > 1 ? str_cat(" (and ", missing - 1, " more)") : std::string()));
  for (const auto& [key, t] : weights)
    if (!expected.count(key) && !tolerated_extra(key))
      throw Error(str_cat(source, ": unexpected weight '", key, "' for this model config"));
}

}  // namespace asr::io
