#include "asr/models/subsampling.h"

#include "asr/ops/ops.h"
#include "masks.h"

namespace asr::models {

int64_t subsampled_length(int64_t length, int64_t stages) {
  for (int64_t i = 0; i < stages; ++i) length = (length + 1) / 2;  // ceil(L / 2), L >= 0
  return length;
}

ConvSubsampling::ConvSubsampling(const std::string& kind, int64_t factor, int64_t feat_in,
                                 int64_t feat_out, int64_t conv_channels, Generator& gen)
    : kind_(kind), stages_(0) {
  ASR_CHECK(factor >= 2 && (factor & (factor - 1)) == 0, "ConvSubsampling",
            "subsampling_factor must be a power of two >= 2, got ", factor);
  for (int64_t f = factor; f > 1; f /= 2) ++stages_;
  conv_ = register_module("conv", std::make_shared<ModuleList>());
  const int64_t c = conv_channels;
  int64_t index = 0;
  auto add_conv = [&](int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t groups) {
    auto conv = conv_->add(std::to_string(index++), std::make_shared<Conv2d>(in, out, k, s, p, groups, true, gen));
    steps_.push_back({conv, s != 1});
  };
  auto add_relu = [&]() {
    ++index;  // ReLU holds no state but takes a Sequential index
    steps_.push_back({nullptr, false});
  };
  if (kind == "striding") {
    // [Conv2d(k3, s2, p1), ReLU] per stage.
    for (int64_t i = 0; i < stages_; ++i) {
      add_conv(i == 0 ? 1 : c, c, 3, 2, 1, 1);
      add_relu();
    }
  } else if (kind == "dw_striding") {
    // Conv2d(1, C), ReLU, then per further stage: depthwise (s2), pointwise, ReLU.
    add_conv(1, c, 3, 2, 1, 1);
    add_relu();
    for (int64_t i = 1; i < stages_; ++i) {
      add_conv(c, c, 3, 2, 1, c);
      add_conv(c, c, 1, 1, 0, 1);
      add_relu();
    }
  } else {
    throw Error("ConvSubsampling: unsupported subsampling '" + kind +
                "' (supported: striding, dw_striding)");
  }
  out_ = register_module("out", std::make_shared<nn::Linear>(c * subsampled_length(feat_in, stages_),
                                                             feat_out, true, gen));
}

Tensor ConvSubsampling::forward(const Tensor& x, std::vector<int64_t>& lengths) const {
  ASR_CHECK(x.dim() == 3 && static_cast<size_t>(x.size(0)) == lengths.size(), "ConvSubsampling",
            "expects x [B, T, F] with B lengths, got ", x.describe(), " and ", lengths.size(),
            " lengths");
  const int64_t b = x.size(0);
  // Zero the time steps at or beyond each running length (MaskedConvSequential). Conv outputs are
  // masked right away; ReLU keeps zeros, so this equals masking before every layer.
  auto mask_time = [&](const Tensor& h) {
    const int64_t t = h.size(2);
    if (!detail::has_padding(lengths, t)) return h;
    Tensor m = detail::pad_mask(lengths, t, h.device()).view({b, 1, t, 1});
    return ops::masked_fill(h, m, 0.0);
  };
  Tensor h = mask_time(x.unsqueeze(1));  // [B, 1, T, F]: time is H, frequency is W
  for (const Step& s : steps_) {
    if (!s.conv) {
      h = ops::relu(h);
      continue;
    }
    h = s.conv->forward(h);
    if (s.strided)
      for (int64_t& l : lengths) l = subsampled_length(l, 1);
    h = mask_time(h);
  }
  // [B, C, T', F'] -> [B, T', C * F'] (feature index c * F' + f), then the projection.
  const int64_t t = h.size(2);
  h = h.transpose(1, 2).reshape({b, t, h.size(1) * h.size(3)});
  return out_->forward(h);
}

}  // namespace asr::models
