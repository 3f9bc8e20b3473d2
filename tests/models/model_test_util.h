#pragma once
// Small configurations and helpers shared by the model tests.
#include <string>
#include <vector>

#include "asr/core/generator.h"
#include "asr/core/tensor.h"
#include "asr/io/model_config.h"
#include "asr/models/published_configs.h"

namespace asr::test {

// A tiny Conformer-CTC: d_model 8, 2 heads, kernel 3, conv channels 4, 16 mel bins, V = 5.
inline io::ModelConfig tiny_config(const std::string& subsampling = "striding", int64_t layers = 1) {
  io::ModelConfig c;
  c.encoder.feat_in = 16;
  c.encoder.n_layers = layers;
  c.encoder.d_model = 8;
  c.encoder.n_heads = 2;
  c.encoder.conv_kernel_size = 3;
  c.encoder.subsampling = subsampling;
  c.encoder.subsampling_factor = subsampling == "dw_striding" ? 8 : 4;
  c.encoder.subsampling_conv_channels = 4;
  c.decoder.feat_in = 8;
  c.decoder.num_classes = 5;
  return c;
}

// NeMo's published Conformer-CTC Small (models/published_configs.h).
inline io::ModelConfig small_config() { return models::conformer_ctc_small_config(); }

inline Tensor lengths_tensor(const std::vector<int64_t>& l) {
  return Tensor::from_vector(l, {static_cast<int64_t>(l.size())});
}

}  // namespace asr::test
