// CPU forward time of the published Conformer-CTC Small (random weights) on 10 s of audio.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "asr/autograd/node.h"
#include "asr/models/conformer_ctc.h"
#include "models/model_test_util.h"

namespace asr {
namespace {

TEST(ModelSpeed, ConformerCtcSmallForwardOnTenSecondsIsFasterThanRealTime) {
  autograd::NoGradGuard ng;
  Generator gen(71);
  models::ConformerCtcModel model(test::small_config(), gen);
  model.train(false);
  const int64_t frames = 1000;  // 10 s at a 10 ms hop
  Tensor feats = Tensor::randn({1, 80, frames}, gen);
  Tensor lens = test::lengths_tensor({frames});
  model.forward(feats, lens);  // warm the allocator cache
  double best = 1e9;
  for (int i = 0; i < 2; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    models::CtcOutput out = model.forward(feats, lens);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
    ASSERT_EQ(out.log_probs.shape(), (Shape{1, 250, 129}));
  }
  std::printf("[ speed ] Conformer-CTC Small, 10 s audio: forward %.3f s (RTF %.4f)\n", best, best / 10.0);
  EXPECT_LT(best / 10.0, 1.0);
}

}  // namespace
}  // namespace asr
