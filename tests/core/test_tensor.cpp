#include <gtest/gtest.h>

#include <cmath>

#include "asr/core/tensor.h"
#include "asr/ops/ops.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;

TEST(Tensor, FromVectorRoundTripsEveryDtype) {
  std::vector<double> v{1, -2, 3, 0};
  for (DType t : {DType::F32, DType::F64, DType::BF16, DType::F16, DType::I32, DType::I64}) {
    Tensor x = Tensor::from_vector(v, {2, 2}, t);
    EXPECT_EQ(x.dtype(), t);
    EXPECT_EQ(x.to_vector(), v) << dtype_name(t);
  }
  Tensor b = Tensor::from_vector(v, {4}, DType::Bool);
  EXPECT_EQ(b.to_vector(), (std::vector<double>{1, 1, 1, 0}));
}

TEST(Tensor, HalfConversionsRoundToNearestEven) {
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f)), 1.0f);
  EXPECT_EQ(f16_to_float(float_to_f16(65504.0f)), 65504.0f);  // f16 max
  EXPECT_TRUE(std::isinf(f16_to_float(float_to_f16(1e6f))));
  EXPECT_EQ(f16_to_float(float_to_f16(5.960464477539063e-08f)), 5.960464477539063e-08f);  // min subnormal
  EXPECT_EQ(f16_to_float(float_to_f16(1.0f + 1.0f / 4096)), 1.0f);  // tie -> even
  EXPECT_NEAR(bf16_to_float(float_to_bf16(3.14159f)), 3.140625f, 1e-6);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(NAN))));
}

TEST(Tensor, ViewsShareStorageWithoutCopy) {
  Tensor x = Tensor::from_vector(std::vector<double>{0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor t = x.transpose(0, 1);
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.raw_data(), x.raw_data());
  EXPECT_EQ(t.to_vector(), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  Tensor n = x.narrow(1, 1, 2);
  EXPECT_EQ(n.to_vector(), (std::vector<double>{1, 2, 4, 5}));
  EXPECT_EQ(n.impl()->storage, x.impl()->storage);
  Tensor r = x.reshape({3, 2});
  EXPECT_EQ(r.impl()->storage, x.impl()->storage);  // contiguous: no copy
  Tensor rt = t.reshape({6});                        // non-viewable: copies
  EXPECT_NE(rt.impl()->storage, x.impl()->storage);
  EXPECT_EQ(rt.to_vector(), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  Tensor p = Tensor::zeros({2, 3, 4}).permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(x.select(0, 1).to_vector(), (std::vector<double>{3, 4, 5}));
  EXPECT_EQ(x.slice(1, -2, 3).to_vector(), (std::vector<double>{1, 2, 4, 5}));
  EXPECT_EQ(x.unsqueeze(0).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(x.unsqueeze(0).squeeze(0).shape(), (Shape{2, 3}));
  Tensor e = Tensor::from_vector(std::vector<double>{7, 8}, {2, 1}).expand({2, 3});
  EXPECT_EQ(e.strides()[1], 0);
  EXPECT_EQ(e.to_vector(), (std::vector<double>{7, 7, 7, 8, 8, 8}));
}

TEST(Tensor, ViewOfNonContiguousMergesOnlyCompatibleDims) {
  Tensor x = Tensor::zeros({4, 6}).narrow(1, 0, 4);  // rows not adjacent
  EXPECT_NO_THROW(x.view({2, 2, 4}));                 // splitting a dim is fine
  EXPECT_ASR_ERROR(x.view({16}), "view");
}

TEST(Tensor, BadInputsRaiseNamedErrors) {
  Tensor x = Tensor::zeros({2, 3});
  EXPECT_ASR_ERROR(x.reshape({4, 2}), "reshape");
  EXPECT_ASR_ERROR(x.narrow(1, 2, 2), "narrow");
  EXPECT_ASR_ERROR(x.transpose(0, 2), "transpose");
  EXPECT_ASR_ERROR(x.squeeze(0), "squeeze");
  EXPECT_ASR_ERROR(x.expand({3, 3}), "expand");
  EXPECT_ASR_ERROR(x.permute({0, 0}), "permute");
  EXPECT_ASR_ERROR(x.item(), "item");
  EXPECT_ASR_ERROR(Tensor::from_vector(std::vector<double>{1, 2}, {3}), "from_vector");
  EXPECT_ASR_ERROR(Tensor::zeros({2}, DType::I64).set_requires_grad(true), "integer");
  EXPECT_ASR_ERROR(Tensor().shape(), "undefined");
  EXPECT_ASR_ERROR(Tensor::zeros({1}, DType::F32, Device::cuda(7)), "backend");
}

TEST(Tensor, ReadOnlyStorageRejectsWrites) {
  std::vector<float> frozen{1, 2, 3};
  Tensor w = Tensor::from_external(frozen.data(), {3}, DType::F32, Device::cpu(), nullptr, true);
  EXPECT_TRUE(w.read_only());
  EXPECT_ASR_ERROR(w.fill_(0), "read-only");
  EXPECT_ASR_ERROR(w.copy_(Tensor::zeros({3})), "read-only");
  EXPECT_EQ(frozen[0], 1.0f);
  // Reading through ops is fine.
  EXPECT_EQ(ops::sum(w).item(), 6.0);
}

TEST(Tensor, RandomGeneratorIsReproducible) {
  Generator a(42), b(42), c(43);
  Tensor x = Tensor::randn({100}, a), y = Tensor::randn({100}, b), z = Tensor::randn({100}, c);
  EXPECT_TRUE(test::bitwise_equal(x, y));
  EXPECT_FALSE(test::bitwise_equal(x, z));
  double m = ops::mean(x).item();
  EXPECT_LT(std::fabs(m), 0.3);
  Tensor u = Tensor::rand({1000}, a, 2.0, 3.0);
  for (double v : u.to_vector()) ASSERT_TRUE(v >= 2.0 && v < 3.0);
}
