// Placement and precision of a model for GPU training: to_device moves every tensor the modules
// hold (and rebuilds the flat adapter buffers there), forward takes CPU batches; bf16 converts
// exactly the frozen GEMM weights and keeps the model's outputs close to f32. Device moves run on
// the emulated CUDA device (a second CPU backend), so the numbers must not change at all.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "asr/autograd/node.h"
#include "asr/backend/backend.h"
#include "support/emulated_cuda.h"
#include "asr/models/conformer_ctc.h"
#include "asr/ops/ops.h"
#include "models/model_test_util.h"
#include "support/adapter_step.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;

namespace {

using test::EmulatedCuda;

std::unique_ptr<models::ConformerCtcModel> adapter_model(uint64_t seed) {
  Generator gen(seed);
  auto m = std::make_unique<models::ConformerCtcModel>(test::tiny_config("striding", 2), gen);
  m->add_adapter("encoder+decoder:a", models::AdapterConfig::linear(4));
  return m;
}

struct Batch {
  Tensor features, lengths, targets, target_lengths;
};

Batch tiny_batch() {
  Generator g(9);
  return {Tensor::randn({2, 16, 40}, g), test::lengths_tensor({40, 29}),
          Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 4, 0, 0}, {2, 3}), test::lengths_tensor({3, 1})};
}

double loss_and_backward(models::ConformerCtcModel& m, const Batch& b) {
  return test::ctc_loss_and_backward(m, b.features, b.lengths, b.targets, b.target_lengths);
}

}  // namespace

TEST(Placement, ToDeviceMovesEveryTensorAndTheFlatBuffersAndChangesNoNumber) {
  EmulatedCuda emulated;
  auto cpu = adapter_model(5), dev = adapter_model(5);
  cpu->freeze_base_for_adapters();
  dev->freeze_base_for_adapters();
  dev->to_device(Device::cuda(0));  // after freezing: the flat buffers are rebuilt on the device
  EXPECT_EQ(dev->device(), Device::cuda(0));
  for (const auto& [name, t] : dev->named_state()) EXPECT_EQ(t.device(), Device::cuda(0)) << name;
  ASSERT_EQ(dev->flat_parameters().device(), Device::cuda(0));
  ASSERT_EQ(dev->flat_gradients().device(), Device::cuda(0));
  EXPECT_TRUE(test::bitwise_equal(dev->flat_parameters(), cpu->flat_parameters()));
  cpu->set_adapter_training_mode();
  dev->set_adapter_training_mode();

  const Batch b = tiny_batch();  // CPU tensors: forward moves them
  const double lc = loss_and_backward(*cpu, b), ld = loss_and_backward(*dev, b);
  EXPECT_EQ(lc, ld);
  // Gradients land in the device's flat buffer, not in per-parameter buffers.
  EXPECT_TRUE(test::bitwise_equal(dev->flat_gradients(), cpu->flat_gradients()));
  double sq = 0;
  for (double v : dev->flat_gradients().to_vector()) sq += v * v;
  EXPECT_GT(sq, 0.0);
}

TEST(Placement, Bf16ConvertsExactlyTheFrozenGemmWeights) {
  auto m = adapter_model(6);
  m->freeze_base_for_adapters();
  const io::ModelConfig& c = m->config();
  // Per layer: ff1 and ff2 (2 linears each), q, k, v, out, pos, pointwise_conv1 and 2; then the
  // subsampling's output linear and the decoder's 1x1 conv. Adapters (trainable) stay f32.
  const int64_t per_layer = 2 + 2 + 5 + 2;
  EXPECT_EQ(m->convert_frozen_linear_weights(DType::BF16), c.encoder.n_layers * per_layer + 2);
  for (const auto& [name, t] : m->named_parameters()) {
    const bool adapter = name.find("adapter_layer") != std::string::npos;
    if (adapter || t.requires_grad()) {
      EXPECT_EQ(t.dtype(), DType::F32) << name;
    }
  }
  int64_t bf16 = 0;
  for (const auto& [name, t] : m->named_parameters()) bf16 += t.dtype() == DType::BF16;
  EXPECT_EQ(bf16, c.encoder.n_layers * per_layer + 2);
  EXPECT_EQ(m->convert_frozen_linear_weights(DType::BF16), 0);  // already converted
}

TEST(Placement, Bf16LossIsWithinOnePercentOfF32AndGradientsAgree) {
  auto f32 = adapter_model(7), bf16 = adapter_model(7);
  Generator g(1);
  for (auto* m : {f32.get(), bf16.get()}) {
    m->freeze_base_for_adapters();
    m->set_adapter_training_mode();
  }
  {  // non-zero adapters, so their gradients depend on the whole path
    autograd::NoGradGuard ng;
    const Tensor r = Tensor::randn(f32->flat_parameters().shape(), g, 0.3);
    Tensor(f32->flat_parameters()).copy_(r);
    Tensor(bf16->flat_parameters()).copy_(r);
  }
  ASSERT_GT(bf16->convert_frozen_linear_weights(DType::BF16), 0);
  const Batch b = tiny_batch();
  const double l32 = loss_and_backward(*f32, b), l16 = loss_and_backward(*bf16, b);
  EXPECT_NE(l32, l16);
  EXPECT_NEAR(l16, l32, 0.01 * std::fabs(l32));
  const std::vector<double> g32 = f32->flat_gradients().to_vector(), g16 = bf16->flat_gradients().to_vector();
  double dot = 0, n32 = 0, n16 = 0;
  for (size_t i = 0; i < g32.size(); ++i) {
    dot += g32[i] * g16[i];
    n32 += g32[i] * g32[i];
    n16 += g16[i] * g16[i];
  }
  EXPECT_GT(dot / std::sqrt(n32 * n16), 0.99) << "cosine of the adapter gradients";
}
