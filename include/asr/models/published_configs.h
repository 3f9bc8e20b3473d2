#pragma once
// Architectures NeMo publishes (shared spec §3), for benchmarks and tests that need a model of a
// real size without its weights.
#include "asr/io/model_config.h"

namespace asr::models {

// stt_en_conformer_ctc_small (conformer_ctc_bpe.yaml): d_model 176, 16 layers, 4 heads, conv
// kernel 31, striding 4x, 80 mel bins, 128 tokens + blank; NeMo's preprocessor defaults.
inline io::ModelConfig conformer_ctc_small_config() {
  io::ModelConfig c;
  c.target = "nemo.collections.asr.models.ctc_bpe_models.EncDecCTCModelBPE";
  c.preprocessor.window_size = 0.025;
  c.preprocessor.features = 80;
  c.preprocessor.n_fft = 512;
  c.preprocessor.pad_to = 0;
  c.encoder.feat_in = 80;
  c.encoder.d_model = 176;
  c.encoder.n_layers = 16;
  c.encoder.n_heads = 4;
  c.encoder.conv_kernel_size = 31;
  c.decoder.feat_in = 176;
  c.decoder.num_classes = 128;
  return c;
}

// stt_en_conformer_ctc_large (conformer_ctc_bpe.yaml, "Large (121M)"): d_model 512, 18 layers,
// 8 heads, conv kernel 31, striding 4x with 512 subsampling channels (-1: d_model), ff expansion
// 4, 80 mel bins; 128 tokens + blank as the Small one here; NeMo's preprocessor defaults.
inline io::ModelConfig conformer_ctc_large_config() {
  io::ModelConfig c = conformer_ctc_small_config();
  c.encoder.d_model = 512;
  c.encoder.n_layers = 18;
  c.encoder.n_heads = 8;
  c.encoder.conv_kernel_size = 31;
  c.encoder.subsampling = "striding";
  c.encoder.subsampling_factor = 4;
  c.encoder.subsampling_conv_channels = -1;
  c.encoder.ff_expansion_factor = 4;
  c.decoder.feat_in = 512;
  c.decoder.num_classes = 128;
  return c;
}

}  // namespace asr::models
