#pragma once
// NeMo's ConvASRDecoder: decoder_layers.0 = Conv1d(d, V+1, 1) and log_softmax over classes.
#include <memory>

#include "asr/models/layers.h"
#include "asr/nn/module.h"

namespace asr::models {

class ConvAsrDecoder : public nn::Module {
 public:
  ConvAsrDecoder(int64_t feat_in, int64_t num_classes, Generator& init);  // num_classes = V
  // Logits [B, T, V+1] from encoder output [B, T, d] (time-major: the 1x1 conv is a Linear).
  Tensor logits(const Tensor& x) const;
  // log_softmax(logits(x), -1).
  Tensor forward(const Tensor& x) const;
  int64_t num_outputs() const { return num_outputs_; }

 private:
  int64_t num_outputs_;
  std::shared_ptr<ModuleList> decoder_layers_;
  std::shared_ptr<Conv1d> conv_;
};

}  // namespace asr::models
