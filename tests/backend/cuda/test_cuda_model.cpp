// End to end: a tiny Conformer-CTC built twice from the same seed, one copy moved to the GPU;
// a training-mode forward (dropout, batch-norm batch statistics), CTC loss and backward must
// agree with the CPU: loss, every parameter gradient and the updated running statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "asr/backend/backend.h"
#include "asr/models/conformer_ctc.h"
#include "asr/ops/ops.h"
#include "cuda_test_util.h"

using namespace asr;

namespace {

const Device kGpu = Device::cuda(0);

io::ModelConfig tiny_gpu_config() {
  io::ModelConfig c;
  c.encoder.feat_in = 16;
  c.encoder.n_layers = 2;
  c.encoder.d_model = 32;
  c.encoder.n_heads = 4;
  c.encoder.conv_kernel_size = 9;
  c.encoder.subsampling = "striding";
  c.encoder.subsampling_factor = 4;
  c.encoder.subsampling_conv_channels = 8;
  c.encoder.dropout_att = 0.1;
  c.decoder.feat_in = 32;
  c.decoder.num_classes = 10;
  return c;
}

std::map<std::string, Tensor> state_of(const nn::Module& m) {
  std::map<std::string, Tensor> s;
  for (auto& [name, t] : m.named_state()) s[name] = t;
  return s;
}

void run_and_compare(DType dt, double tol) {
  const io::ModelConfig cfg = tiny_gpu_config();
  Generator gc(77), gg(77);
  models::ConformerCtcModel cpu(cfg, gc, dt), gpu(cfg, gg, dt);
  gpu.to_device(kGpu);
  for (auto& [name, t] : gpu.named_state()) ASSERT_EQ(t.device(), kGpu) << name;
  cpu.train(true);
  gpu.train(true);

  Generator data(5);
  Tensor feats = Tensor::randn({3, 16, 64}, data, 1.0, dt);
  Tensor lens = Tensor::from_vector(std::vector<int64_t>{64, 50, 37}, {3});
  Tensor targets = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 3, 4, 5, 9, 8, 7, 7, 0, 0}, {3, 4});
  Tensor tlens = Tensor::from_vector(std::vector<int64_t>{4, 4, 2}, {3});

  models::CtcOutput oc = cpu.forward(feats, lens);
  models::CtcOutput og = gpu.forward(feats.to(kGpu), lens.to(kGpu));
  ASSERT_EQ(og.log_probs.device(), kGpu);
  EXPECT_TRUE(cudatest::all_close(og.log_probs, oc.log_probs, tol, tol)) << "log_probs";
  EXPECT_EQ(og.lengths.to(Device::cpu()).to_vector(), oc.lengths.to_vector());

  Tensor lc = ops::ctc_loss(oc.log_probs, targets, oc.lengths, tlens, cpu.blank(),
                            ops::CtcReduction::MeanBatch, true);
  Tensor lg = ops::ctc_loss(og.log_probs, targets.to(kGpu), og.lengths.to(Device::cpu()), tlens,
                            gpu.blank(), ops::CtcReduction::MeanBatch, true);
  ASSERT_TRUE(std::isfinite(lc.item()));
  EXPECT_NEAR(lg.item(), lc.item(), tol * (1 + std::fabs(lc.item()))) << "loss";
  lc.backward();
  lg.backward();

  const auto sc = state_of(cpu), sg = state_of(gpu);
  int compared = 0;
  for (const auto& [name, pc] : sc) {
    const Tensor& pg = sg.at(name);
    if (!is_floating(pc.dtype())) {
      EXPECT_EQ(pg.to(Device::cpu()).to_vector(), pc.to_vector()) << name;
      continue;
    }
    // Running statistics (updated by the training step) and parameter gradients.
    EXPECT_TRUE(cudatest::all_close(pg, pc, tol, tol)) << "value of " << name;
    if (!pc.grad().defined()) continue;
    ASSERT_TRUE(pg.grad().defined()) << name;
    EXPECT_EQ(pg.grad().device(), kGpu) << name;
    EXPECT_TRUE(cudatest::all_close(pg.grad(), pc.grad(), tol, tol)) << "grad of " << name;
    ++compared;
  }
  EXPECT_GT(compared, 20);
}

}  // namespace

TEST(CudaModel, ConformerCtcTrainingStepMatchesCpuInF64) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  run_and_compare(DType::F64, 1e-9);
}

// f32 through ~2 layers of attention, convolution and normalisation: rounding differences of a
// few ulp per op accumulate, hence the looser tolerance.
TEST(CudaModel, ConformerCtcTrainingStepMatchesCpuInF32) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  run_and_compare(DType::F32, 2e-3);
}
