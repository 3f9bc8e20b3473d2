// Writes an asr-adapt .h5 model with random weights in a published architecture, built from the
// NeMo fixture's config (tokenizer, preprocessor) with the encoder resized: the stand-in for a
// pretrained checkpoint in memory and speed measurements (bench/frozen_memory.sh).
//
//   make_random_model FIXTURE.nemo OUT.h5 [d_model n_layers n_heads ff_expansion]   (default: Small 176 16 4 4)
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include "asr/io/model_file.h"
#include "asr/models/conformer_ctc.h"

using namespace asr;

namespace {
// Sets `key: value` under the encoder section (and the decoder's feat_in) in NeMo YAML text.
std::string set_key(std::string yaml, const std::string& key, const std::string& value) {
  const std::regex re("(\\n\\s+" + key + ":)[^\\n]*");
  return std::regex_replace(yaml, re, "$1 " + value);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 7) {
    std::fprintf(stderr, "usage: make_random_model FIXTURE.nemo OUT.h5 [d_model n_layers n_heads ff_expansion]\n");
    return 2;
  }
  const std::string d = argc == 7 ? argv[3] : "176", layers = argc == 7 ? argv[4] : "16";
  const std::string heads = argc == 7 ? argv[5] : "4", ff = argc == 7 ? argv[6] : "4";
  try {
    io::ModelFile mf = io::load_model_file(argv[1]);
    std::string yaml = mf.config.yaml;
    yaml = set_key(yaml, "d_model", d);
    yaml = set_key(yaml, "n_layers", layers);
    yaml = set_key(yaml, "n_heads", heads);
    yaml = set_key(yaml, "ff_expansion_factor", ff);
    yaml = set_key(yaml, "feat_in", "80");  // encoder input; the decoder's is fixed below
    yaml = std::regex_replace(yaml, std::regex("(\\n\\s*decoder:\\n(?:[ ]+[^\\n]*\\n)*?[ ]+feat_in:)[^\\n]*"), "$1 " + d);
    io::ModelFile out = mf;
    out.config = io::parse_model_config(yaml, "make_random_model");
    Generator gen(2024);
    models::ConformerCtcModel model(out.config, gen);
    for (auto it = out.weights.begin(); it != out.weights.end();)
      it = it->first.rfind("preprocessor.", 0) == 0 ? std::next(it) : out.weights.erase(it);
    for (const auto& [k, t] : model.named_state()) out.weights[k] = t;
    io::write_model_h5(out, argv[2]);
    int64_t n = 0;
    for (const auto& [k, p] : model.named_parameters()) n += p.numel();
    std::printf("%s: d_model %s, %s layers, %lld parameters\n", argv[2], d.c_str(), layers.c_str(),
                static_cast<long long>(n));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_random_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
