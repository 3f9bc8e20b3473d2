#pragma once
// NeMo's ConformerEncoder: ConvSubsampling (pre_encode) -> RelPositionalEncoding -> N
// ConformerLayers. Parameter names equal NeMo's keys below "encoder.".
#include <memory>
#include <vector>

#include "asr/io/model_config.h"
#include "asr/models/conformer_layer.h"
#include "asr/models/layers.h"
#include "asr/models/rel_pos_encoding.h"
#include "asr/models/subsampling.h"
#include "asr/nn/module.h"

namespace asr::models {

struct EncoderOutput {
  Tensor x;                     // [B, T', d_model]
  std::vector<int64_t> lengths;  // encoded lengths
};

class ConformerEncoder : public nn::Module {
 public:
  // Refuses (asr::Error naming the key) what this port does not implement: attention other than
  // rel_pos, untie_biases false, subsampling other than striding/dw_striding, odd head splits...
  ConformerEncoder(const io::EncoderConfig& cfg, Generator& init, GeneratorPtr dropout_gen);

  // features [B, feat_in, T] (padded), lengths (one per utterance, <= T).
  EncoderOutput forward(const Tensor& features, const std::vector<int64_t>& lengths) const;

  const io::EncoderConfig& config() const { return cfg_; }
  ConvSubsampling& pre_encode() { return *pre_encode_; }
  RelPositionalEncoding& pos_enc() { return *pos_enc_; }
  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  ConformerLayer& layer(int64_t i) { return *layers_.at(static_cast<size_t>(i)); }
  const ConformerLayer& layer(int64_t i) const { return *layers_.at(static_cast<size_t>(i)); }

 private:
  io::EncoderConfig cfg_;
  std::shared_ptr<ConvSubsampling> pre_encode_;
  std::shared_ptr<RelPositionalEncoding> pos_enc_;
  std::shared_ptr<ModuleList> layer_list_;
  std::vector<std::shared_ptr<ConformerLayer>> layers_;
};

}  // namespace asr::models
