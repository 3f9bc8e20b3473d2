#pragma once
// Helpers for the io tests: a minimal NeMo CTC-BPE config, string edits, and a tar writer to build
// broken .nemo files at test time.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "asr/core/error.h"

namespace asr::iotest {

// The shape of a real model_config.yaml (as NeMo 3.0 saves it), cut down to what matters.
inline const char* kBaseYaml = R"(sample_rate: 16000
ctc_reduction: mean_batch
tokenizer:
  dir: /tmp/x/tokenizer
  type: bpe
  model_path: nemo:0eac_tokenizer.model
preprocessor:
  _target_: nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor
  sample_rate: ${model.sample_rate}
  normalize: per_feature
  window_size: 0.025
  window_stride: 0.01
  window: hann
  features: 80
  n_fft: 512
  log: true
  frame_splicing: 1
  dither: 1.0e-05
  pad_to: 0
  pad_value: 0.0
encoder:
  _target_: nemo.collections.asr.modules.ConformerEncoder
  feat_in: 80
  feat_out: -1
  n_layers: 2
  d_model: 64
  subsampling: striding
  subsampling_factor: 4
  subsampling_conv_channels: -1
  causal_downsampling: false
  ff_expansion_factor: 4
  self_attention_model: rel_pos
  n_heads: 4
  att_context_size:
  - -1
  - -1
  xscaling: true
  untie_biases: true
  pos_emb_max_len: 5000
  conv_kernel_size: 31
  conv_norm_type: batch_norm
  conv_context_size: null
  dropout: 0.1
  dropout_pre_encoder: 0.1
  dropout_emb: 0.0
  dropout_att: 0.1
decoder:
  _target_: nemo.collections.asr.modules.ConvASRDecoder
  feat_in: 64
  num_classes: 3
  vocabulary:
  - <unk>
  - a
  - b
target: nemo.collections.asr.models.ctc_bpe_models.EncDecCTCModelBPE
nemo_version: 3.0.0
)";

// `text` with the first occurrence of `from` replaced by `to` (the edit must apply).
inline std::string replaced(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  if (at == std::string::npos) throw Error("test edit: '" + from + "' not found");
  return text.replace(at, from.size(), to);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

inline void write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

// A tar (optionally gzip) with "./name" members, as NeMo's save_to writes it, in memory.
inline std::string tar_bytes(const std::vector<std::pair<std::string, std::string>>& members, bool gzip = false) {
  size_t capacity = 1 << 16;
  for (const auto& m : members) capacity += m.second.size() + 1024;
  std::string buffer(capacity, '\0');
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  archive_write_open_memory(a, buffer.data(), buffer.size(), &used);
  for (const auto& [name, data] : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, ("./" + name).c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  buffer.resize(used);
  return buffer;
}

// Writes tar_bytes(members, gzip) to `path`.
inline void write_tar(const std::string& path, const std::vector<std::pair<std::string, std::string>>& members,
                      bool gzip = false) {
  std::ofstream out(path, std::ios::binary);
  out << tar_bytes(members, gzip);
  if (!out.flush()) throw Error("cannot write " + path);
}

// Expects `fn` to throw asr::Error whose message contains every fragment.
template <typename Fn>
std::string expect_error(Fn&& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line error: " << msg;
    return msg;
  }
  ADD_FAILURE() << "no asr::Error thrown (expected one mentioning '" << (fragments.empty() ? "" : fragments[0]) << "')";
  return "";
}

inline std::string fixture(const std::string& rel) { return std::string(ASR_FIXTURE_DIR) + "/" + rel; }

}  // namespace asr::iotest
