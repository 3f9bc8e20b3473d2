#pragma once
// ConformerCtcModel's private state, shared by conformer_ctc.cpp and adapter_model.cpp.
#include <memory>
#include <string>
#include <vector>

#include "asr/models/adapters.h"
#include "asr/models/conformer_ctc.h"
#include "asr/models/conformer_encoder.h"
#include "asr/models/conv_asr_decoder.h"

namespace asr::models {

struct ConformerCtcModel::Impl {
  GeneratorPtr dropout_gen;
  std::shared_ptr<ConformerEncoder> encoder;
  std::shared_ptr<ConvAsrDecoder> decoder;
  // Adapters: shared generator + auxiliary losses of the last forward, the decoder's
  // adapter_layer (registered on the model as "decoder.adapter_layer"), names in insertion order.
  std::shared_ptr<AdapterRuntime> adapter_rt;
  std::shared_ptr<AdapterSet> decoder_adapters;
  std::vector<std::string> adapter_names;
  std::vector<AdapterSpec> adapter_specs;  // as added; enabled flags are read from the sets
  std::unique_ptr<Generator> adapter_init;
  Tensor flat_params, flat_grads;  // set by freeze_base_for_adapters()
};

}  // namespace asr::models
