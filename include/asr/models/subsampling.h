#pragma once
// NeMo's ConvSubsampling (striding 4x / dw_striding 8x, any power of two) with the >= 2.5
// MaskedConvSequential semantics: time steps at or beyond each utterance's running length are
// zeroed before every layer, so a padded batch gives each utterance's solo result.
#include <memory>
#include <string>
#include <vector>

#include "asr/models/layers.h"
#include "asr/nn/module.h"

namespace asr::models {

// NeMo's calc_length for kernel 3, stride 2, padding 1 repeated `stages` times:
// L = floor((L + 2 - 3) / 2 + 1) = ceil(L / 2) per stage.
int64_t subsampled_length(int64_t length, int64_t stages);

class ConvSubsampling : public nn::Module {
 public:
  // kind: "striding" | "dw_striding"; factor: a power of two >= 2.
  ConvSubsampling(const std::string& kind, int64_t factor, int64_t feat_in, int64_t feat_out,
                  int64_t conv_channels, Generator& gen);

  // x [B, T, feat_in], lengths (one per utterance, <= T) -> [B, T', feat_out]; lengths updated.
  Tensor forward(const Tensor& x, std::vector<int64_t>& lengths) const;

  int64_t stages() const { return stages_; }
  int64_t output_length(int64_t length) const { return subsampled_length(length, stages_); }

 private:
  struct Step {
    std::shared_ptr<Conv2d> conv;  // null: ReLU
    bool strided = false;
  };
  std::string kind_;
  int64_t stages_;
  std::vector<Step> steps_;
  std::shared_ptr<ModuleList> conv_;
  std::shared_ptr<nn::Linear> out_;
};

}  // namespace asr::models
