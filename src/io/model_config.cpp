// NeMo model_config.yaml -> ModelConfig (yaml-cpp). Only EncDecCTCModelBPE with a full-context
// rel_pos Conformer encoder is accepted; anything else is refused naming the file, line and key.
#include "asr/io/model_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>

#include "asr/core/error.h"

namespace asr::io {

// Bounds on sizes read from a config (see parse_preprocessor / parse_encoder).
constexpr int64_t kMaxSampleRate = 1000000, kMaxFeatures = 4096, kMaxWindowSamples = int64_t{1} << 20;
constexpr double kMaxWindowSeconds = 10.0;
constexpr int64_t kMaxFrameSplicing = 64, kMaxLayers = 1024, kMaxWidth = int64_t{1} << 20;

int64_t PreprocessorConfig::win_length() const {
  // NeMo: int(window_size * sample_rate), i.e. truncation of the same double product.
  return n_window_size > 0 ? n_window_size : static_cast<int64_t>(window_size * static_cast<double>(sample_rate));
}
int64_t PreprocessorConfig::hop_length() const {
  return n_window_stride > 0 ? n_window_stride
                             : static_cast<int64_t>(window_stride * static_cast<double>(sample_rate));
}
int64_t PreprocessorConfig::fft_size() const {
  if (n_fft > 0) return n_fft;
  int64_t n = 1;
  while (n < win_length()) n *= 2;
  return n;
}

namespace {

std::string last_component(const std::string& target) {
  size_t dot = target.rfind('.');
  return dot == std::string::npos ? target : target.substr(dot + 1);
}

class ConfigReader {
 public:
  ConfigReader(const YAML::Node& root, std::string source) : root_(root), src_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    YAML::Node n = lookup(key, false);
    std::string line = n.IsDefined() && n.Mark().line >= 0 ? str_cat(":", n.Mark().line + 1) : "";
    throw Error(str_cat(src_, line, ": '", key, "' ", what));
  }

  // Dotted path from the root; OmegaConf interpolations "${a.b}" (absolute, "model." optional)
  // are followed.
  YAML::Node lookup(const std::string& path, bool resolve = true) const {
    // yaml-cpp's Node::operator= writes through to the tree: rebind with reset() and read
    // children through const nodes only.
    YAML::Node n(root_);
    size_t start = 0;
    while (start <= path.size()) {
      size_t dot = path.find('.', start);
      std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!n.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
      const YAML::Node cur(n);
      const YAML::Node child = cur[part];  // a missing key gives an invalid node: never reset() to it
      if (!child.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
      n.reset(child);
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    for (int hops = 0; resolve && hops < 8 && n.IsScalar(); ++hops) {
      const std::string s = n.Scalar();
      if (s.size() < 4 || s.compare(0, 2, "${") != 0 || s.back() != '}') break;
      std::string ref = s.substr(2, s.size() - 3);
      if (ref.compare(0, 6, "model.") == 0 && !static_cast<const YAML::Node&>(root_)["model"]) ref.erase(0, 6);
      YAML::Node target = lookup(ref, false);
      if (!target.IsDefined()) fail(path, str_cat("refers to '", s, "', which is not in the config"));
      n.reset(target);
    }
    return n;
  }

  bool has(const std::string& key) const {
    YAML::Node n = lookup(key);
    return n.IsDefined() && !n.IsNull();
  }

  // Reads `key` into `out` when present and not null; wrong types name the key.
  template <typename T>
  void read(const std::string& key, T& out) const {
    YAML::Node n = lookup(key);
    if (!n.IsDefined() || n.IsNull()) return;
    try {
      out = n.as<T>();
    } catch (const YAML::Exception&) {
      fail(key, str_cat("has the wrong type (", describe(n), ")"));
    }
  }

  std::string str(const std::string& key, const std::string& dflt = "") const {
    std::string s = dflt;
    read(key, s);
    return s;
  }

  static std::string describe(const YAML::Node& n) {
    if (n.IsScalar()) return "'" + n.Scalar() + "'";
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return "null";
  }

 private:
  YAML::Node root_;
  std::string src_;
};

void parse_target(const ConfigReader& r, ModelConfig& c) {
  c.target = r.str("target");
  const std::string cls = last_component(c.target);
  if (r.has("joint") || cls.find("RNNT") != std::string::npos || cls.find("TDT") != std::string::npos ||
      cls.find("Hybrid") != std::string::npos)
    r.fail(r.has("target") ? "target" : "joint",
           str_cat("is ", c.target.empty() ? "an RNNT/TDT model" : "'" + c.target + "'",
                   ": RNNT, TDT and hybrid models are not supported (only EncDecCTCModelBPE)"));
  if (c.target.empty()) {  // old configs: infer from the sections
    if (!r.has("tokenizer"))
      r.fail("decoder", "belongs to a character-based CTC model (no tokenizer section): not supported");
    c.target = "nemo.collections.asr.models.ctc_bpe_models.EncDecCTCModelBPE";
  } else if (cls == "EncDecCTCModel") {
    r.fail("target", "is a character-based CTC model (EncDecCTCModel): not supported (only EncDecCTCModelBPE)");
  } else if (cls != "EncDecCTCModelBPE") {
    r.fail("target", str_cat("is '", c.target, "': not supported (only EncDecCTCModelBPE)"));
  }
}

void parse_preprocessor(const ConfigReader& r, PreprocessorConfig& p) {
  const std::string k = "preprocessor.";
  if (!r.has("preprocessor")) r.fail("preprocessor", "is missing");
  p.target = r.str(k + "_target_", p.target);
  if (last_component(p.target) != "AudioToMelSpectrogramPreprocessor")
    r.fail(k + "_target_", str_cat("is '", p.target, "': only AudioToMelSpectrogramPreprocessor is supported"));
  r.read(k + "sample_rate", p.sample_rate);
  r.read(k + "window_size", p.window_size);
  r.read(k + "window_stride", p.window_stride);
  r.read(k + "n_window_size", p.n_window_size);
  r.read(k + "n_window_stride", p.n_window_stride);
  r.read(k + "window", p.window);
  r.read(k + "features", p.features);
  r.read(k + "n_fft", p.n_fft);
  r.read(k + "normalize", p.normalize);
  if (r.lookup(k + "normalize").IsDefined() && r.lookup(k + "normalize").IsNull()) p.normalize = "none";
  r.read(k + "log", p.log);
  r.read(k + "dither", p.dither);
  r.read(k + "pad_to", p.pad_to);
  r.read(k + "pad_value", p.pad_value);
  r.read(k + "preemph", p.preemph);
  if (r.lookup(k + "preemph").IsDefined() && r.lookup(k + "preemph").IsNull()) p.preemph = 0.0;
  r.read(k + "lowfreq", p.lowfreq);
  r.read(k + "highfreq", p.highfreq);
  r.read(k + "log_zero_guard_type", p.log_zero_guard_type);
  // NeMo also accepts the names of float32 constants here.
  const std::string guard = r.str(k + "log_zero_guard_value");
  if (guard == "tiny")
    p.log_zero_guard_value = 1.1754943508222875e-38;  // torch.finfo(float32).tiny
  else if (guard == "eps")
    p.log_zero_guard_value = 1.1920928955078125e-07;  // torch.finfo(float32).eps
  else
    r.read(k + "log_zero_guard_value", p.log_zero_guard_value);
  r.read(k + "mag_power", p.mag_power);
  r.read(k + "mel_norm", p.mel_norm);
  if (r.lookup(k + "mel_norm").IsDefined() && r.lookup(k + "mel_norm").IsNull()) p.mel_norm = "none";
  r.read(k + "exact_pad", p.exact_pad);
  r.read(k + "frame_splicing", p.frame_splicing);
  // asr-adapt's own key (also `transcribe --legacy-features`): features as NeMo < 2.5 computed
  // them (L // hop + 1 frames, reflect-padded STFT), for checkpoints trained before that change.
  r.read(k + "asr_adapt_legacy_nemo_pre_2_5", p.legacy_nemo_pre_2_5);

  if (p.sample_rate <= 0) r.fail(k + "sample_rate", "must be positive");
  if (p.features <= 0) r.fail(k + "features", "must be positive");
  // Upper bounds far beyond any real model: sizes computed from these stay exact and small
  // enough to allocate (a checkpoint saying 10^12 features or a 10^300-second window is refused).
  if (p.sample_rate > kMaxSampleRate) r.fail(k + "sample_rate", str_cat("must be at most ", kMaxSampleRate));
  if (p.features > kMaxFeatures) r.fail(k + "features", str_cat("must be at most ", kMaxFeatures));
  for (const auto& [key, seconds] : {std::pair{"window_size", p.window_size}, std::pair{"window_stride", p.window_stride}})
    if (!(seconds >= 0.0 && seconds <= kMaxWindowSeconds))
      r.fail(k + key, str_cat("must be 0 to ", kMaxWindowSeconds, " seconds"));
  for (const auto& [key, samples] : {std::pair{"n_window_size", p.n_window_size},
                                     std::pair{"n_window_stride", p.n_window_stride}, std::pair{"n_fft", p.n_fft}})
    if (samples > kMaxWindowSamples) r.fail(k + key, str_cat("must be at most ", kMaxWindowSamples));
  if (p.frame_splicing > kMaxFrameSplicing) r.fail(k + "frame_splicing", str_cat("must be at most ", kMaxFrameSplicing));
  if (p.win_length() <= 0) r.fail(k + "window_size", "gives an empty window");
  if (p.hop_length() <= 0) r.fail(k + "window_stride", "gives a zero hop");
  if (p.fft_size() < p.win_length()) r.fail(k + "n_fft", "is smaller than the window");
  if (p.frame_splicing < 1) r.fail(k + "frame_splicing", "must be >= 1");
  if (p.log_zero_guard_type != "add" && p.log_zero_guard_type != "clamp")
    r.fail(k + "log_zero_guard_type", "must be 'add' or 'clamp'");
}

void parse_encoder(const ConfigReader& r, ModelConfig& c) {
  EncoderConfig& e = c.encoder;
  const std::string k = "encoder.";
  if (!r.has("encoder")) r.fail("encoder", "is missing");
  e.target = r.str(k + "_target_");
  const std::string cls = last_component(e.target);
  if (cls != "ConformerEncoder" && cls != "ConformerEncoderAdapter")
    r.fail(k + "_target_", str_cat("is '", e.target, "': only ConformerEncoder (or ConformerEncoderAdapter) is supported"));
  r.read(k + "feat_in", e.feat_in);
  r.read(k + "n_layers", e.n_layers);
  r.read(k + "d_model", e.d_model);
  r.read(k + "subsampling", e.subsampling);
  r.read(k + "subsampling_factor", e.subsampling_factor);
  r.read(k + "subsampling_conv_channels", e.subsampling_conv_channels);
  r.read(k + "ff_expansion_factor", e.ff_expansion_factor);
  r.read(k + "self_attention_model", e.self_attention_model);
  r.read(k + "n_heads", e.n_heads);
  r.read(k + "xscaling", e.xscaling);
  r.read(k + "untie_biases", e.untie_biases);
  r.read(k + "pos_emb_max_len", e.pos_emb_max_len);
  r.read(k + "conv_kernel_size", e.conv_kernel_size);
  r.read(k + "conv_norm_type", e.conv_norm_type);
  r.read(k + "use_bias", e.use_bias);
  r.read(k + "dropout", e.dropout);
  r.read(k + "dropout_pre_encoder", e.dropout_pre_encoder);
  r.read(k + "dropout_emb", e.dropout_emb);
  r.read(k + "dropout_att", e.dropout_att);

  if (e.subsampling != "striding" && e.subsampling != "dw_striding")
    r.fail(k + "subsampling", str_cat("is '", e.subsampling, "': only striding and dw_striding are supported"));
  const int64_t f = e.subsampling_factor;
  if (f < 2 || f > 16 || (f & (f - 1)) != 0) r.fail(k + "subsampling_factor", "must be 2, 4, 8 or 16");
  if (e.self_attention_model != "rel_pos")
    r.fail(k + "self_attention_model", str_cat("is '", e.self_attention_model, "': only rel_pos is supported"));
  YAML::Node ctx = r.lookup(k + "att_context_size");
  if (ctx.IsDefined() && !ctx.IsNull()) {
    std::vector<int64_t> v;
    if (ctx.IsSequence() && ctx.size() == 2 && ctx[0].IsScalar()) r.read(k + "att_context_size", v);
    if (v != std::vector<int64_t>{-1, -1})
      r.fail(k + "att_context_size", "is not [-1, -1]: limited-context (streaming) attention is not supported");
  }
  bool causal = false;
  r.read(k + "causal_downsampling", causal);
  if (causal)
    r.fail(k + "causal_downsampling", "is true: causal subsampling is not supported");
  int64_t feat_out = -1;
  r.read(k + "feat_out", feat_out);
  if (feat_out > 0) r.fail(k + "feat_out", "is set: an encoder output projection is not supported");
  if (r.has(k + "reduction") || r.has(k + "reduction_position"))
    r.fail(k + "reduction", "is set: time reduction inside the encoder is not supported");
  YAML::Node ccs = r.lookup(k + "conv_context_size");
  if (ccs.IsDefined() && !ccs.IsNull()) {
    std::vector<int64_t> v;
    if (ccs.IsSequence()) r.read(k + "conv_context_size", v);
    const int64_t half = (e.conv_kernel_size - 1) / 2;
    if (v != std::vector<int64_t>{half, half})
      r.fail(k + "conv_context_size", "is not symmetric: causal convolutions are not supported");
  }
  if (e.conv_norm_type != "batch_norm" && e.conv_norm_type != "layer_norm")
    r.fail(k + "conv_norm_type", str_cat("is '", e.conv_norm_type, "': only batch_norm and layer_norm are supported"));
  if (e.n_layers < 1 || e.n_layers > kMaxLayers) r.fail(k + "n_layers", str_cat("must be 1 to ", kMaxLayers));
  for (const auto& [key, value] : {std::pair{"d_model", e.d_model}, std::pair{"subsampling_conv_channels", e.subsampling_conv_channels},
                                   std::pair{"pos_emb_max_len", e.pos_emb_max_len}, std::pair{"conv_kernel_size", e.conv_kernel_size},
                                   std::pair{"ff_expansion_factor", e.ff_expansion_factor}})
    if (value > kMaxWidth) r.fail(k + key, str_cat("must be at most ", kMaxWidth));
  if (e.d_model < 1 || e.n_heads < 1 || e.d_model % e.n_heads != 0)
    r.fail(k + "n_heads", str_cat("(", e.n_heads, ") must divide d_model (", e.d_model, ")"));
  if (e.conv_kernel_size < 1 || e.conv_kernel_size % 2 == 0) r.fail(k + "conv_kernel_size", "must be odd");
  if (e.ff_expansion_factor < 1) r.fail(k + "ff_expansion_factor", "must be >= 1");
  if (e.feat_in != c.preprocessor.features * c.preprocessor.frame_splicing)
    r.fail(k + "feat_in", str_cat("(", e.feat_in, ") does not match the preprocessor's ",
                                  c.preprocessor.features * c.preprocessor.frame_splicing, " features"));
}

void parse_decoder(const ConfigReader& r, ModelConfig& c) {
  DecoderConfig& d = c.decoder;
  const std::string k = "decoder.";
  if (!r.has("decoder")) r.fail("decoder", "is missing");
  d.target = r.str(k + "_target_", d.target);
  const std::string cls = last_component(d.target);
  if (cls != "ConvASRDecoder" && cls != "ConvASRDecoderAdapter")
    r.fail(k + "_target_", str_cat("is '", d.target, "': only ConvASRDecoder is supported"));
  d.feat_in = c.encoder.d_model;
  r.read(k + "feat_in", d.feat_in);
  if (d.feat_in != c.encoder.d_model)
    r.fail(k + "feat_in", str_cat("(", d.feat_in, ") does not match encoder.d_model (", c.encoder.d_model, ")"));
  r.read(k + "vocabulary", d.vocabulary);
  d.num_classes = -1;
  r.read(k + "num_classes", d.num_classes);
  if (d.num_classes <= 0) d.num_classes = static_cast<int64_t>(d.vocabulary.size());
  if (d.num_classes <= 0) r.fail(k + "num_classes", "is unset and the vocabulary is empty");
  if (d.num_classes > kMaxWidth) r.fail(k + "num_classes", str_cat("must be at most ", kMaxWidth));
  if (!d.vocabulary.empty() && static_cast<int64_t>(d.vocabulary.size()) != d.num_classes)
    r.fail(k + "num_classes", str_cat("(", d.num_classes, ") differs from the vocabulary size (",
                                      d.vocabulary.size(), ")"));
}

void parse_tokenizer(const ConfigReader& r, TokenizerConfig& t) {
  if (!r.has("tokenizer")) r.fail("tokenizer", "is missing (character-based models are not supported)");
  t.type = r.str("tokenizer.type", t.type);
  if (t.type == "wpe") r.fail("tokenizer.type", "is 'wpe': WordPiece tokenizers are not supported (only SentencePiece 'bpe')");
  if (t.type != "bpe") r.fail("tokenizer.type", str_cat("is '", t.type, "': only SentencePiece 'bpe' tokenizers are supported"));
  t.model_path = r.str("tokenizer.model_path");
  if (t.model_path.empty()) r.fail("tokenizer.model_path", "is missing: the SentencePiece model cannot be found");
}

}  // namespace

ModelConfig parse_model_config(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw Error(str_cat(source, ":", e.mark.line + 1, ": YAML syntax error: ", e.msg));
  }
  if (!root.IsMap()) throw Error(str_cat(source, ": the model config is not a mapping"));
  // A full experiment config wraps the model section in `model:`.
  const YAML::Node top(root);
  if (!top["encoder"] && top["model"] && top["model"].IsMap()) root.reset(top["model"]);
  ConfigReader r(root, source);

  ModelConfig c;
  c.yaml = yaml_text;
  parse_target(r, c);
  parse_preprocessor(r, c.preprocessor);
  parse_encoder(r, c);
  parse_decoder(r, c);
  parse_tokenizer(r, c.tokenizer);
  r.read("ctc_reduction", c.ctc_reduction);
  static const char* reductions[] = {"mean_batch", "mean_volume", "mean", "sum", "none"};
  if (std::find(std::begin(reductions), std::end(reductions), c.ctc_reduction) == std::end(reductions))
    r.fail("ctc_reduction", str_cat("is '", c.ctc_reduction, "': expected mean_batch, mean_volume, mean, sum or none"));
  return c;
}

}  // namespace asr::io
