// GPU adapter training against the CPU reference, on a real GPU (skipped without one):
//  - the bf16 GEMM (bf16 operands, f32 accumulation) against the CPU's widened f32 GEMM;
//  - one adapter-training step of Conformer-CTC Small (fp32): loss, the flat adapter gradient
//    and the AdamW-updated adapter weights match the CPU step;
//  - bf16 mixed precision: the loss of a few steps stays within 1% of fp32 and the adapters learn.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "asr/backend/backend.h"
#include "asr/models/conformer_ctc.h"
#include "asr/models/published_configs.h"
#include "asr/ops/ops.h"
#include "asr/train/optimizer.h"
#include "cuda_test_util.h"
#include "support/adapter_step.h"

using namespace asr;

namespace {

const Device kGpu = Device::cuda(0);

#define REQUIRE_GPU() \
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine"

struct StepBatch {
  Tensor features, lengths, targets, target_lengths;
};

// Two utterances of different lengths (padding is masked), ~12 tokens per second.
StepBatch small_batch() {
  Generator g(21);
  const int64_t frames = 300;
  std::vector<int64_t> t(2 * 30);
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<int64_t>(Generator::hash(4, i) % 128);
  return {Tensor::randn({2, 80, frames}, g), Tensor::from_vector(std::vector<int64_t>{300, 220}, {2}),
          Tensor::from_vector(t, {2, 30}), Tensor::from_vector(std::vector<int64_t>{30, 22}, {2})};
}

// Conformer-CTC Small with a LinearAdapter (dim 32) in every layer, frozen as the trainer does,
// on `device` (adapters initialised on the CPU first: both copies start equal).
std::unique_ptr<models::ConformerCtcModel> small_adapter_model(Device device) {
  Generator gen(13);
  auto m = std::make_unique<models::ConformerCtcModel>(models::conformer_ctc_small_config(), gen);
  m->adapter_init_generator().set_state(99, 0);
  m->add_adapter("a", models::AdapterConfig::linear(32));
  if (!device.is_cpu()) m->to_device(device);
  m->freeze_base_for_adapters();
  m->set_adapter_training_mode();
  return m;
}

double step(models::ConformerCtcModel& m, train::AdamW& opt, const StepBatch& b) {
  const double v = test::ctc_loss_and_backward(m, b.features, b.lengths, b.targets, b.target_lengths);
  opt.step(m.flat_parameters(), m.flat_gradients(), 1e-3);
  return v;
}

}  // namespace

TEST(CudaAdapterTraining, Bf16GemmMatchesTheCpuWidenedGemm) {
  REQUIRE_GPU();
  Generator g(2);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const Tensor a = Tensor::randn(ta ? Shape{3, 96, 40} : Shape{3, 40, 96}, g).to(DType::BF16);
      const Tensor b = Tensor::randn(tb ? Shape{1, 72, 96} : Shape{1, 96, 72}, g).to(DType::BF16);
      Tensor c_cpu = Tensor::zeros({3, 40, 72}), c_gpu = Tensor::zeros({3, 40, 72}, DType::F32, kGpu);
      backend_for(Device::cpu()).gemm(ta, tb, 1.0, a, b, 0.0, c_cpu);
      backend_for(kGpu).gemm(ta, tb, 1.0, a.to(kGpu), b.to(kGpu), 0.0, c_gpu);
      // Products of bf16 numbers are exact in f32: only the summation order differs.
      EXPECT_TRUE(cudatest::all_close(c_gpu, c_cpu, 1e-5, 1e-4)) << "ta " << ta << " tb " << tb;
    }
}

TEST(CudaAdapterTraining, OneFp32StepOfConformerSmallMatchesTheCpuStep) {
  REQUIRE_GPU();
  auto cpu = small_adapter_model(Device::cpu()), gpu = small_adapter_model(kGpu);
  ASSERT_EQ(gpu->flat_parameters().device(), kGpu);
  train::AdamW oc{train::AdamWConfig{}}, og{train::AdamWConfig{}};
  const StepBatch b = small_batch();
  const double lc = step(*cpu, oc, b), lg = step(*gpu, og, b);
  ASSERT_TRUE(std::isfinite(lc));
  EXPECT_NEAR(lg, lc, 1e-4 * std::fabs(lc));
  EXPECT_TRUE(cudatest::all_close(gpu->flat_gradients(), cpu->flat_gradients(), 2e-3, 1e-5)) << "adapter gradient";
  EXPECT_TRUE(cudatest::all_close(gpu->flat_parameters(), cpu->flat_parameters(), 1e-4, 2e-4)) << "updated adapters (Adam normalises: a near-zero gradient may round either way)";
}

TEST(CudaAdapterTraining, Bf16LossStaysWithinOnePercentOfFp32AndTheAdaptersLearn) {
  REQUIRE_GPU();
  auto f32 = small_adapter_model(kGpu), bf16 = small_adapter_model(kGpu);
  ASSERT_GT(bf16->convert_frozen_linear_weights(DType::BF16), 0);
  train::AdamW o32{train::AdamWConfig{}}, o16{train::AdamWConfig{}};
  const StepBatch b = small_batch();
  std::vector<double> l32, l16;
  for (int i = 0; i < 4; ++i) {
    l32.push_back(step(*f32, o32, b));
    l16.push_back(step(*bf16, o16, b));
    EXPECT_NEAR(l16.back(), l32.back(), 0.01 * std::fabs(l32.back())) << "step " << i;
  }
  EXPECT_LT(l16.back(), l16.front());
}

TEST(CudaAdapterTraining, FusedRelPosSoftmaxMatchesTheCpuForwardAndBackward) {
  REQUIRE_GPU();
  Generator g(6);
  const int64_t B = 2, H = 4, T = 300;  // rows longer than a block: the strided loops wrap
  std::vector<uint8_t> m(static_cast<size_t>(B * T * T), 0);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < T; ++j) m[static_cast<size_t>((T + i) * T + j)] = i >= 200 || j >= 200;
  Tensor mask = Tensor::empty({B, T, T}, DType::Bool);
  std::memcpy(mask.raw_data(), m.data(), m.size());
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor ac = Tensor::randn({B, H, T, T}, g, 3.0, dt).set_requires_grad(true);
    Tensor bd = Tensor::randn({B, H, T, 2 * T - 1}, g, 3.0, dt).set_requires_grad(true);
    Tensor ac_g = ac.detach().to(kGpu).set_requires_grad(true), bd_g = bd.detach().to(kGpu).set_requires_grad(true);
    const Tensor r = Tensor::randn({B, H, T, T}, g, 1.0, dt);
    const Tensor yc = ops::rel_pos_softmax(ac, bd, mask, 0.125), yg = ops::rel_pos_softmax(ac_g, bd_g, mask.to(kGpu), 0.125);
    const double tol = dt == DType::F32 ? 1e-5 : 1e-12;
    EXPECT_TRUE(cudatest::all_close(yg, yc, tol, tol)) << dtype_name(dt);
    ops::sum(ops::mul(yc, r)).backward();
    ops::sum(ops::mul(yg, r.to(kGpu))).backward();
    EXPECT_TRUE(cudatest::all_close(ac_g.grad(), ac.grad(), tol, tol)) << "d ac " << dtype_name(dt);
    EXPECT_TRUE(cudatest::all_close(bd_g.grad(), bd.grad(), tol, tol)) << "d bd " << dtype_name(dt);
  }
}

TEST(CudaAdapterTraining, FusedMaskedGluMatchesTheCpuForwardAndBackward) {
  REQUIRE_GPU();
  Generator g(7);
  const int64_t B = 3, T = 257, H = 176;  // odd sizes: partial blocks
  std::vector<uint8_t> m(static_cast<size_t>(B * T), 0);
  for (int64_t t = 200; t < T; ++t) m[static_cast<size_t>(2 * T + t)] = 1;
  Tensor mask = Tensor::empty({B, T}, DType::Bool);
  std::memcpy(mask.raw_data(), m.data(), m.size());
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor x = Tensor::randn({B, T, 2 * H}, g, 2.0, dt).set_requires_grad(true);
    Tensor xg = x.detach().to(kGpu).set_requires_grad(true);
    const Tensor r = Tensor::randn({B, T, H}, g, 1.0, dt);
    const Tensor yc = ops::masked_glu(x, mask), yg = ops::masked_glu(xg, mask.to(kGpu));
    const double tol = dt == DType::F32 ? 1e-6 : 1e-13;
    EXPECT_TRUE(cudatest::all_close(yg, yc, tol, tol)) << dtype_name(dt);
    ops::sum(ops::mul(yc, r)).backward();
    ops::sum(ops::mul(yg, r.to(kGpu))).backward();
    EXPECT_TRUE(cudatest::all_close(xg.grad(), x.grad(), tol, tol)) << "dx " << dtype_name(dt);
  }
}

TEST(CudaAdapterTraining, FusedBiasSiluMatchesTheCpuForwardAndBackward) {
  REQUIRE_GPU();
  Generator g(8);
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor x = Tensor::randn({5, 33, 704}, g, 3.0, dt).set_requires_grad(true);
    Tensor b = Tensor::randn({704}, g, 1.0, dt).set_requires_grad(true);
    Tensor xg = x.detach().to(kGpu).set_requires_grad(true), bg = b.detach().to(kGpu).set_requires_grad(true);
    const Tensor r = Tensor::randn({5, 33, 704}, g, 1.0, dt);
    const Tensor yc = ops::bias_silu(x, b), yg = ops::bias_silu(xg, bg);
    const double tol = dt == DType::F32 ? 1e-5 : 1e-12;
    EXPECT_TRUE(cudatest::all_close(yg, yc, tol, tol)) << dtype_name(dt);
    ops::sum(ops::mul(yc, r)).backward();
    ops::sum(ops::mul(yg, r.to(kGpu))).backward();
    EXPECT_TRUE(cudatest::all_close(xg.grad(), x.grad(), tol, tol)) << "dx " << dtype_name(dt);
    EXPECT_TRUE(cudatest::all_close(bg.grad(), b.grad(), 1e-4, 1e-4)) << "dbias " << dtype_name(dt);
  }
}
