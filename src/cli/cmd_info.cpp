// `asr-adapt info MODEL`: what a .nemo or .h5 model is (architecture, sizes, preprocessor) and
// where its parameters sit, as text or --json.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "asr/io/model_file.h"
#include "commands.h"

namespace asr::cli {
namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }
bool is_buffer(const std::string& key) {  // state-dict entries that are not nn.Parameters
  return starts_with(key, "preprocessor.") || key.find(".running_mean") != std::string::npos ||
         key.find(".running_var") != std::string::npos || key.find(".num_batches_tracked") != std::string::npos;
}

// Top-level module a key belongs to, in the order `info` lists them.
const char* group_of(const std::string& key) {
  if (starts_with(key, "preprocessor.")) return "preprocessor";
  if (key.find(".adapter_layer.") != std::string::npos) return "adapters";
  if (starts_with(key, "encoder.pre_encode.")) return "encoder.pre_encode";
  if (starts_with(key, "encoder.layers.")) return "encoder.layers";
  if (starts_with(key, "encoder.")) return "encoder (other)";
  if (starts_with(key, "decoder.")) return "decoder";
  return "other";
}

struct Count {
  int64_t tensors = 0, params = 0, buffers = 0;
};

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0 && s[i - 1] != '-') out += ',';
    out += s[i];
  }
  return out;
}

int run_info(const std::string& path, bool json) {
  const io::FileKind kind = io::detect_file_kind(path);
  io::ModelFile mf = io::load_model_file(path);
  const io::ModelConfig& c = mf.config;
  const io::EncoderConfig& e = c.encoder;
  const io::PreprocessorConfig& p = c.preprocessor;

  static const char* order[] = {"preprocessor", "encoder.pre_encode", "encoder.layers", "encoder (other)",
                                "adapters", "decoder", "other"};
  std::map<std::string, Count> groups;
  Count total;
  for (const auto& [key, t] : mf.weights) {
    Count& g = groups[group_of(key)];
    ++g.tensors;
    ++total.tensors;
    (is_buffer(key) ? g.buffers : g.params) += t.numel();
    (is_buffer(key) ? total.buffers : total.params) += t.numel();
  }
  const int64_t V = c.decoder.num_classes;
  const std::string model_class = c.target.substr(c.target.find_last_of('.') + 1);
  const std::string encoder_class = e.target.substr(e.target.find_last_of('.') + 1);

  if (json) {
    nlohmann::json j;
    j["file"] = path;
    j["format"] = io::file_kind_name(kind);
    j["model"] = model_class;
    j["encoder"] = {{"type", encoder_class}, {"subsampling", e.subsampling}, {"subsampling_factor", e.subsampling_factor},
                    {"subsampling_conv_channels", e.conv_channels()}, {"d_model", e.d_model}, {"n_heads", e.n_heads},
                    {"n_layers", e.n_layers}, {"ff_expansion_factor", e.ff_expansion_factor},
                    {"conv_kernel_size", e.conv_kernel_size}, {"conv_norm_type", e.conv_norm_type},
                    {"self_attention_model", e.self_attention_model}, {"xscaling", e.xscaling},
                    {"use_bias", e.use_bias}};
    j["vocabulary_size"] = V;
    j["num_outputs"] = V + 1;
    j["blank_id"] = V;
    j["tokenizer"] = {{"type", c.tokenizer.type}, {"bytes", mf.tokenizer_model.size()}};
    j["ctc_reduction"] = c.ctc_reduction;
    j["preprocessor"] = {{"sample_rate", p.sample_rate}, {"window_size", p.window_size},
                         {"window_stride", p.window_stride}, {"win_length", p.win_length()},
                         {"hop_length", p.hop_length()}, {"n_fft", p.fft_size()}, {"window", p.window},
                         {"features", p.features}, {"normalize", p.normalize}, {"dither", p.dither},
                         {"preemph", p.preemph}, {"pad_to", p.pad_to}, {"log", p.log},
                         {"log_zero_guard_type", p.log_zero_guard_type},
                         {"log_zero_guard_value", p.log_zero_guard_value}, {"mel_norm", p.mel_norm}};
    nlohmann::json counts = nlohmann::json::object();
    for (const char* g : order)
      if (groups.count(g))
        counts[g] = {{"tensors", groups[g].tensors}, {"parameters", groups[g].params}, {"buffers", groups[g].buffers}};
    j["weights"] = counts;
    j["total"] = {{"tensors", total.tensors}, {"parameters", total.params}, {"buffers", total.buffers}};
    std::cout << j.dump(2) << "\n";
    return kOk;
  }

  std::printf("%s: %s, %s\n", path.c_str(), io::file_kind_name(kind), model_class.c_str());
  std::printf("encoder      %s: %lld layers, d_model %lld, %lld heads (d_k %lld), feed-forward %lld, "
              "conv kernel %lld, %s\n",
              encoder_class.c_str(), (long long)e.n_layers, (long long)e.d_model, (long long)e.n_heads,
              (long long)(e.d_model / e.n_heads), (long long)(e.d_model * e.ff_expansion_factor),
              (long long)e.conv_kernel_size, e.conv_norm_type.c_str());
  std::printf("subsampling  %s %lldx, %lld channels; attention %s, context [%lld, %lld], xscaling %s%s\n",
              e.subsampling.c_str(), (long long)e.subsampling_factor, (long long)e.conv_channels(),
              e.self_attention_model.c_str(), (long long)e.att_context_size[0], (long long)e.att_context_size[1],
              e.xscaling ? "on" : "off", e.use_bias ? "" : ", no biases");
  std::printf("decoder      ConvASRDecoder: %lld tokens + blank = %lld outputs (blank id %lld)\n", (long long)V,
              (long long)(V + 1), (long long)V);
  std::printf("tokenizer    SentencePiece (%s), %zu bytes\n", c.tokenizer.type.c_str(), mf.tokenizer_model.size());
  std::printf("preprocessor %lld Hz, window %g s (%lld samples, %s), stride %g s (%lld), n_fft %lld, %lld mels, "
              "normalize %s, log %s (%s %g), dither %g, preemph %g, pad_to %lld\n",
              (long long)p.sample_rate, p.window_size, (long long)p.win_length(), p.window.c_str(), p.window_stride,
              (long long)p.hop_length(), (long long)p.fft_size(), (long long)p.features, p.normalize.c_str(),
              p.log ? "on" : "off", p.log_zero_guard_type.c_str(), p.log_zero_guard_value, p.dither, p.preemph,
              (long long)p.pad_to);
  std::printf("ctc loss     reduction %s\n", c.ctc_reduction.c_str());
  std::printf("\n%-20s %8s %14s %12s\n", "weights", "tensors", "parameters", "buffers");
  for (const char* g : order)
    if (groups.count(g))
      std::printf("%-20s %8lld %14s %12s\n", g, (long long)groups[g].tensors, with_commas(groups[g].params).c_str(),
                  with_commas(groups[g].buffers).c_str());
  std::printf("%-20s %8lld %14s %12s\n", "total", (long long)total.tensors, with_commas(total.params).c_str(),
              with_commas(total.buffers).c_str());
  return kOk;
}

}  // namespace

CommandRunner add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Describe a model (.nemo or imported .h5): architecture, sizes, parameters");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("MODEL", *path, "A NeMo .nemo file or an asr-adapt .h5 checkpoint")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--json", *json, "Print the description as JSON");
  return [=] { return run_info(*path, *json); };
}

}  // namespace asr::cli
