// GLU fused with a row mask against the composed ops it replaces (narrow -> sigmoid -> mul, then
// masked_fill), and finite-difference gradients, with and without the mask.
#include <gtest/gtest.h>

#include <cstring>

#include "asr/ops/ops.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

using namespace asr;

namespace {

Tensor row_mask(const std::vector<uint8_t>& m, const Shape& shape) {
  Tensor out = Tensor::empty(shape, DType::Bool);
  std::memcpy(out.raw_data(), m.data(), m.size());
  return out;
}

Tensor composed(const Tensor& x, const Tensor& mask) {
  const int64_t h = x.size(-1) / 2;
  Tensor y = ops::mul(x.narrow(-1, 0, h), ops::sigmoid(x.narrow(-1, h, h)));
  return mask.defined() ? ops::masked_fill(y, mask.unsqueeze(-1), 0.0) : y;
}

}  // namespace

TEST(MaskedGlu, EqualsTheComposedOpsAndZeroesMaskedRows) {
  Generator g(3);
  const Tensor mask = row_mask({0, 0, 1, 0, 1, 1}, {2, 3});
  for (DType dt : {DType::F32, DType::F64}) {
    const Tensor x = Tensor::randn({2, 3, 10}, g, 2.0, dt);  // h = 5: f32 lanes of four plus a tail
    for (const Tensor& m : {Tensor(), mask}) {
      const Tensor y = ops::masked_glu(x, m);
      EXPECT_EQ(y.shape(), (Shape{2, 3, 5}));
      EXPECT_LT(test::max_abs_diff(y, composed(x, m)), dt == DType::F32 ? 1e-6 : 1e-15) << dtype_name(dt);
    }
    // glu over the last dim is the fused kernel too.
    EXPECT_LT(test::max_abs_diff(ops::glu(x, -1), composed(x, Tensor())), dt == DType::F32 ? 1e-6 : 1e-15);
  }
  const std::vector<double> y = ops::masked_glu(Tensor::randn({2, 3, 4}, g), mask).to_vector();
  for (int64_t r : {2, 4, 5})
    for (int64_t j = 0; j < 2; ++j) EXPECT_EQ(y[static_cast<size_t>(r * 2 + j)], 0.0);
}

TEST(MaskedGlu, Gradcheck) {
  Generator g(4);
  const Tensor x = test::random_leaf({2, 3, 6}, g);
  const Tensor mask = row_mask({1, 0, 0, 0, 0, 1}, {2, 3});
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return ops::masked_glu(in[0], mask); },
                   (std::vector<Tensor>{x}));
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return ops::glu(in[0], -1); }, (std::vector<Tensor>{x}));
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return ops::glu(in[0], 1); },  // the composed path
                   (std::vector<Tensor>{test::random_leaf({2, 4, 3}, g)}));
}

TEST(MaskedGlu, BadInputsAreErrors) {
  Generator g(5);
  EXPECT_ASR_ERROR(ops::masked_glu(Tensor::randn({2, 5}, g), Tensor()), "must be even");
  EXPECT_ASR_ERROR(ops::masked_glu(Tensor::randn({2, 4}, g), Tensor::zeros({2})), "row mask must be bool");
  EXPECT_ASR_ERROR(ops::masked_glu(Tensor::randn({2, 4}, g), row_mask({0, 0, 0}, {3})), "row mask must be bool [2]");
}
