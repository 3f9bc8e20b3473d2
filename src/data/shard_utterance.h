#pragma once
// One planned utterance turned into what a shard stores, or into a skip with its reason.
#include <cstdint>
#include <exception>
#include <vector>

#include "asr/audio/features.h"
#include "asr/data/shard_plan.h"

namespace asr::data::detail {

struct UtteranceResult {
  bool ok = false;
  SkipRecord skip{SkipReason::AudioCorrupt, "", ""};  // when !ok and !error
  std::vector<float> features;  // [frames, n_mels] row-major
  int64_t frames = 0;
  double duration = 0.0;        // seconds of audio decoded (0 when it could not be decoded)
  std::exception_ptr error;     // an unexpected failure (not a property of the input)
};

// Thread-safe (the extractor's compute() is). subsampling_stages = log2(subsampling factor).
UtteranceResult compute_utterance(const PlannedUtterance& u, const audio::FeatureExtractor& fx,
                                  int64_t subsampling_stages);

}  // namespace asr::data::detail
