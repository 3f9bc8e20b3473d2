#pragma once
// The parts of a NeMo EncDecCTCModelBPE config (model_config.yaml) that asr-adapt reproduces.
// Defaults are NeMo's class defaults (not the example yaml's), so a config that leaves a key out
// means what it means to NeMo. See shared/specs/nemo-conformer-ctc.md.
#include <cstdint>
#include <string>
#include <vector>

namespace asr::io {

struct PreprocessorConfig {
  int64_t sample_rate = 16000;
  double window_size = 0.02;    // seconds
  double window_stride = 0.01;  // seconds
  std::string window = "hann";
  int64_t features = 64;  // n_mels
  int64_t n_fft = 0;      // 0: next power of two >= win_length
  std::string normalize = "per_feature";
  bool log = true;
  double dither = 1e-5;  // training only
  int64_t pad_to = 16;
  double pad_value = 0.0;
  double preemph = 0.97;  // 0 disables
  double lowfreq = 0.0;
  double highfreq = 0.0;  // 0: sample_rate / 2
  std::string log_zero_guard_type = "add";
  double log_zero_guard_value = 5.960464477539063e-08;  // 2**-24
  double mag_power = 2.0;
  std::string mel_norm = "slaney";
  bool exact_pad = false;
  int64_t frame_splicing = 1;
  // NeMo < 2.5 computed L // hop + 1 frames and reflect-padded the STFT; asr-adapt follows the
  // current release unless the config (or the user) asks for the legacy behaviour.
  bool legacy_nemo_pre_2_5 = false;
  // NeMo's alternative to window_size/window_stride: sizes in samples (0: use the seconds).
  int64_t n_window_size = 0, n_window_stride = 0;
  std::string target = "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor";

  int64_t win_length() const;  // samples
  int64_t hop_length() const;  // samples
  int64_t fft_size() const;    // n_fft resolved
};

struct EncoderConfig {
  int64_t feat_in = 80;
  int64_t n_layers = 16;
  int64_t d_model = 176;
  std::string subsampling = "striding";  // striding (4x) | dw_striding (8x)
  int64_t subsampling_factor = 4;
  int64_t subsampling_conv_channels = -1;  // -1: d_model
  int64_t ff_expansion_factor = 4;
  std::string self_attention_model = "rel_pos";
  int64_t n_heads = 4;
  std::vector<int64_t> att_context_size = {-1, -1};
  bool xscaling = true;
  bool untie_biases = true;
  int64_t pos_emb_max_len = 5000;
  int64_t conv_kernel_size = 31;
  std::string conv_norm_type = "batch_norm";  // batch_norm | layer_norm
  bool use_bias = true;
  double dropout = 0.1, dropout_pre_encoder = 0.1, dropout_emb = 0.1, dropout_att = 0.0;
  std::string target = "nemo.collections.asr.modules.ConformerEncoder";  // or ...Adapter

  int64_t conv_channels() const { return subsampling_conv_channels > 0 ? subsampling_conv_channels : d_model; }
};

struct DecoderConfig {
  int64_t feat_in = 176;
  int64_t num_classes = 0;  // V (without blank); the output layer has V + 1 rows
  std::vector<std::string> vocabulary;
  std::string target = "nemo.collections.asr.modules.ConvASRDecoder";
};

struct TokenizerConfig {
  std::string type = "bpe";  // bpe = SentencePiece model; wpe = WordPiece (refused)
  std::string model_path;    // as in the config, e.g. "nemo:<uuid>_tokenizer.model"
};

struct ModelConfig {
  std::string target;  // e.g. nemo.collections.asr.models.ctc_bpe_models.EncDecCTCModelBPE
  PreprocessorConfig preprocessor;
  EncoderConfig encoder;
  DecoderConfig decoder;
  TokenizerConfig tokenizer;
  std::string ctc_reduction = "mean_batch";
  std::string yaml;  // the original text, kept so exports can round-trip it
};

// Parses model_config.yaml text. Unsupported models (RNNT/TDT, non-Conformer encoders, streaming
// contexts, other attention types) are refused with an asr::Error naming `source` and the key.
ModelConfig parse_model_config(const std::string& yaml_text, const std::string& source);

}  // namespace asr::io
