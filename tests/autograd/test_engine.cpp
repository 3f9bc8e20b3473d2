#include <gtest/gtest.h>

#include "asr/autograd/node.h"
#include "asr/backend/backend.h"
#include "asr/ops/ops.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;

TEST(Autograd, DiamondGraphSumsGradients) {
  // y = x*x + 3x: the leaf feeds two paths, its gradient is 2x + 3.
  Tensor x = Tensor::from_vector(std::vector<double>{1, -2, 0.5}, {3}, DType::F64).set_requires_grad(true);
  Tensor y = ops::sum(ops::add(ops::mul(x, x), ops::scale(x, 3.0)));
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{5, -1, 4}));
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = Tensor::ones({2}, DType::F64).set_requires_grad(true);
  ops::sum(ops::scale(x, 2.0)).backward();
  ops::sum(ops::scale(x, 2.0)).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{4, 4}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, NoGradRecordsNothing) {
  Tensor x = Tensor::ones({2}).set_requires_grad(true);
  Tensor y;
  {
    autograd::NoGradGuard guard;
    EXPECT_FALSE(autograd::grad_enabled());
    y = ops::exp(ops::mul(x, x));
  }
  EXPECT_TRUE(autograd::grad_enabled());
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_ASR_ERROR(ops::sum(y).backward(), "does not require grad");
}

TEST(Autograd, GradientFlowsThroughViews) {
  Generator gen(5);
  Tensor x = test::random_leaf({3, 4}, gen);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) {
    Tensor t = in[0].transpose(0, 1).narrow(0, 1, 2).reshape({6}).unsqueeze(1).expand({6, 2});
    return ops::mul(t, t);
  }, std::vector<Tensor>{x});
  Tensor y = test::random_leaf({2, 3, 4}, gen, true);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) {
    return in[0].permute({2, 0, 1}).select(1, 1).contiguous().view({4, 3}).to(DType::F64);
  }, std::vector<Tensor>{y});
}

TEST(Autograd, FrozenWeightSkipsWeightGradientGemm) {
  Generator gen(7);
  Tensor x0 = Tensor::randn({16, 8}, gen).set_requires_grad(true);  // trainable below
  Tensor frozen = Tensor::randn({12, 8}, gen);                        // requires_grad false
  Tensor trainable = Tensor::randn({12, 8}, gen).set_requires_grad(true);
  Backend& cpu = backend_for(Device::cpu());

  auto backward_gemms = [&](const Tensor& w) {
    Tensor y = ops::linear(ops::scale(x0, 1.5), w);
    Tensor loss = ops::sum(y);
    uint64_t before = cpu.stats().gemm_calls;
    loss.backward();
    return cpu.stats().gemm_calls - before;
  };
  uint64_t g_frozen = backward_gemms(frozen);
  uint64_t g_trainable = backward_gemms(trainable);
  EXPECT_EQ(g_frozen, 1u);     // dX only
  EXPECT_EQ(g_trainable, 2u);  // dX and dW
  EXPECT_FALSE(frozen.grad().defined());  // no gradient buffer, ever
  EXPECT_TRUE(trainable.grad().defined());
  EXPECT_TRUE(x0.grad().defined());       // dX still flowed through the frozen layer
}

TEST(Autograd, FrozenLinearSavesNoInput) {
  Generator gen(8);
  Tensor x0 = Tensor::randn({4, 8}, gen).set_requires_grad(true);
  Tensor frozen = Tensor::randn({6, 8}, gen);
  Tensor trainable = Tensor::randn({6, 8}, gen).set_requires_grad(true);
  Tensor h = ops::scale(x0, 2.0);  // an activation owned only by us
  long before = h.impl()->storage.use_count();
  Tensor y1 = ops::linear(h, frozen);
  EXPECT_EQ(h.impl()->storage.use_count(), before);  // the frozen linear kept nothing
  Tensor y2 = ops::linear(h, trainable);
  EXPECT_GT(h.impl()->storage.use_count(), before);  // the trainable one saved x for dW
}

TEST(Autograd, OnlyLeavesWithRequiresGradGetGradients) {
  Tensor a = Tensor::ones({2}).set_requires_grad(true);
  Tensor b = Tensor::ones({2});
  Tensor c = ops::mul(a, b);
  ops::sum(c).backward();
  EXPECT_TRUE(a.grad().defined());
  EXPECT_FALSE(b.grad().defined());
  EXPECT_FALSE(c.grad().defined());  // non-leaf: not retained
}

TEST(Autograd, GradientsAccumulateInPlaceIntoAFlatBuffer) {
  // Two parameters whose gradients live in one flat buffer (as adapter parameters do).
  Tensor flat = Tensor::zeros({5}, DType::F64);
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2}, {2}, DType::F64).set_requires_grad(true);
  Tensor b = Tensor::from_vector(std::vector<double>{3, 4, 5}, {3}, DType::F64).set_requires_grad(true);
  a.set_grad_buffer(flat.narrow(0, 0, 2));
  b.set_grad_buffer(flat.narrow(0, 2, 3));
  void* storage = flat.raw_data();
  ops::sum(ops::add(ops::scale(ops::mul(a, a), 1.0), ops::sum(ops::scale(b, 3.0)))).backward();
  // d(a^2)/da = 2a; the scalar sum(3b) is broadcast over a's 2 elements, so d/db = 2 * 3.
  EXPECT_EQ(flat.to_vector(), (std::vector<double>{2, 4, 6, 6, 6}));
  ops::sum(ops::mul(a, a)).backward();  // accumulates
  EXPECT_EQ(flat.to_vector(), (std::vector<double>{4, 8, 6, 6, 6}));
  EXPECT_EQ(a.grad().raw_data(), storage);  // a's gradient is the buffer itself
  a.zero_grad();
  b.zero_grad();
  EXPECT_EQ(flat.to_vector(), (std::vector<double>{0, 0, 0, 0, 0}));
  EXPECT_ASR_ERROR(a.set_grad_buffer(Tensor::zeros({3}, DType::F64)), "set_grad_buffer");
}
