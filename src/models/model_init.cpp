// init_model (model_init.h): config + tokenizer -> randomly initialised model file.
#include "asr/models/model_init.h"

#include "asr/audio/features.h"
#include "asr/models/conformer_ctc.h"
#include "asr/text/tokenizer.h"

namespace asr::models {

io::ModelFile init_model(const std::string& config_yaml, const std::string& source,
                         const std::string& sentencepiece_model_bytes, uint64_t seed) {
  io::ModelFile mf;
  mf.path = source;
  mf.config = io::parse_model_config(config_yaml, source);
  mf.tokenizer_model = sentencepiece_model_bytes;
  const text::Tokenizer tokenizer = text::Tokenizer::from_sentencepiece(sentencepiece_model_bytes, source);
  const int64_t classes = mf.config.decoder.num_classes > 0 ? mf.config.decoder.num_classes
                                                             : static_cast<int64_t>(mf.config.decoder.vocabulary.size());
  if (classes != tokenizer.vocab_size())
    throw Error(str_cat(source, ": decoder.num_classes is ", classes, " but the tokenizer has ",
                        tokenizer.vocab_size(), " pieces: set decoder.num_classes: ", tokenizer.vocab_size()));
  Generator gen(seed);
  const ConformerCtcModel model(mf.config, gen);
  for (const auto& [key, t] : model.named_state()) mf.weights[key] = t;
  // NeMo saves the mel filterbank and window with the model; compute them as its featurizer does.
  const audio::FeatureExtractor fx(mf.config.preprocessor);
  const int64_t bins = static_cast<int64_t>(fx.filterbank().size()) / mf.config.preprocessor.features;
  mf.weights["preprocessor.featurizer.fb"] =
      Tensor::from_vector(fx.filterbank(), {1, mf.config.preprocessor.features, bins});
  mf.weights["preprocessor.featurizer.window"] =
      Tensor::from_vector(fx.window(), {static_cast<int64_t>(fx.window().size())});
  io::check_weights(mf.config, mf.weights, source);
  return mf;
}

}  // namespace asr::models
