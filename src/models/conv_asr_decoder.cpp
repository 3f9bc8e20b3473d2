#include "asr/models/conv_asr_decoder.h"

#include "asr/ops/ops.h"

namespace asr::models {

ConvAsrDecoder::ConvAsrDecoder(int64_t feat_in, int64_t num_classes, Generator& init)
    : num_outputs_(num_classes + 1) {
  ASR_CHECK(feat_in >= 1 && num_classes >= 1, "ConvAsrDecoder", "needs feat_in >= 1 and ",
            "num_classes >= 1, got ", feat_in, " and ", num_classes);
  decoder_layers_ = register_module("decoder_layers", std::make_shared<ModuleList>());
  conv_ = decoder_layers_->add("0", std::make_shared<Conv1d>(feat_in, num_outputs_, 1, 1, 0, 1, true, init));
}

Tensor ConvAsrDecoder::logits(const Tensor& x) const { return conv_->forward_pointwise_last(x); }

Tensor ConvAsrDecoder::forward(const Tensor& x) const { return ops::log_softmax(logits(x), -1); }

}  // namespace asr::models
