// SpecAugment as NeMo's vectorised SpecAugment draws it (the default since NeMo 1.23): per
// utterance, time masks first, then frequency masks; width = floor(u * max_width), so in
// [0, max_width); start = floor(u * (extent - width)). Unlike NeMo, masks never reach padded
// frames: widths are clamped to the utterance's length and frequency masks stop at its last frame.
#include <algorithm>
#include <cmath>

#include "asr/data/loader.h"

namespace asr::data {

void spec_augment(Tensor& features, const Tensor& lengths, const SpecAugmentConfig& config,
                  Generator& gen) {
  const char* op = "spec_augment";
  ASR_CHECK(features.dtype() == DType::F32 && features.dim() == 3, op,
            "features must be f32 [B, n_mels, T], got ", features.describe());
  ASR_CHECK(features.device().is_cpu() && features.is_contiguous(), op,
            "features must be a contiguous CPU tensor, got ", features.describe());
  ASR_CHECK(!features.read_only(), op, "features are read-only");
  ASR_CHECK(config.freq_masks >= 0 && config.time_masks >= 0 && config.freq_width >= 0 &&
                config.time_width >= 0 && std::isfinite(config.time_width),
            op, "negative or non-finite mask settings");
  const int64_t b_count = features.size(0), n_mels = features.size(1), t_max = features.size(2);
  ASR_CHECK(lengths.numel() == b_count, op, "lengths ", lengths.describe(), " for ", b_count,
            " utterances");
  if ((config.freq_masks == 0 && config.time_masks == 0) || b_count == 0) return;

  const std::vector<double> lens = lengths.to_vector();
  const float value = static_cast<float>(config.mask_value);
  const bool adaptive = config.time_width < 1.0;
  const uint64_t per_utt = 2 * static_cast<uint64_t>(config.time_masks + config.freq_masks);
  const uint64_t base = gen.reserve(per_utt * static_cast<uint64_t>(b_count));
  float* data = features.data<float>();

  for (int64_t b = 0; b < b_count; ++b) {
    const int64_t len = std::clamp<int64_t>(static_cast<int64_t>(lens[static_cast<size_t>(b)]), 0, t_max);
    uint64_t c = base + per_utt * static_cast<uint64_t>(b);
    auto u = [&] { return Generator::uniform(gen.seed(), c++); };
    float* x = data + b * n_mels * t_max;

    const double t_width = adaptive ? config.time_width * static_cast<double>(len)
                                    : std::floor(config.time_width);
    for (int64_t k = 0; k < config.time_masks; ++k) {
      const int64_t w = std::min<int64_t>(static_cast<int64_t>(u() * t_width), len);
      const int64_t start = static_cast<int64_t>(u() * static_cast<double>(len - w));
      for (int64_t m = 0; m < n_mels; ++m) std::fill(x + m * t_max + start, x + m * t_max + start + w, value);
    }
    for (int64_t k = 0; k < config.freq_masks; ++k) {
      const int64_t w = std::min<int64_t>(static_cast<int64_t>(u() * static_cast<double>(config.freq_width)), n_mels);
      const int64_t start = static_cast<int64_t>(u() * static_cast<double>(n_mels - w));
      for (int64_t m = start; m < start + w; ++m) std::fill(x + m * t_max, x + m * t_max + len, value);
    }
  }
}

}  // namespace asr::data
