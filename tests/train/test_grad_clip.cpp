// Global-norm clipping against torch.nn.utils.clip_grad_norm_ (fixture /clip/*), non-finite
// gradients and bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "asr/train/grad_clip.h"
#include "optim_fixture.h"

namespace asr::train {
namespace {

using ::testing::HasSubstr;
using test::optim_fixture;

TEST(GradClip, FlatMatchesTorch) {
  for (const char* name : {"f64_clipped", "f32_clipped", "f64_unclipped"}) {
    const std::string obj = std::string("/clip/") + name;
    const DType dt = name[1] == '6' ? DType::F64 : DType::F32;
    const double tol = dt == DType::F64 ? 1e-12 : 1e-6;
    const golden::Array g = optim_fixture().read(obj + "/grad");
    Tensor grad = Tensor::from_vector(g.data, g.shape, dt);
    const double max_norm = optim_fixture().attr(obj, "max_norm");
    const double want = optim_fixture().attr(obj, "total_norm");
    const ClipResult r = clip_grad_norm(grad, max_norm);
    SCOPED_TRACE(name);
    EXPECT_TRUE(r.finite);
    EXPECT_NEAR(r.total_norm, want, tol * want);
    EXPECT_EQ(r.clipped, want > max_norm);
    EXPECT_GOLDEN(grad, optim_fixture().read(obj + "/clipped"), tol, tol);
  }
}

TEST(GradClip, ParameterListMatchesTorch) {
  const golden::Array g = optim_fixture().read("clip/list_f64/grad");
  const double max_norm = optim_fixture().attr("/clip/list_f64", "max_norm");
  const double want = optim_fixture().attr("/clip/list_f64", "total_norm");
  Tensor flat = Tensor::from_vector(g.data, g.shape, DType::F64);
  std::vector<Tensor> params;
  int64_t at = 0;
  for (int64_t k : {3, 5, 4}) {
    Tensor p = Tensor::zeros({k}, DType::F64).set_requires_grad(true);
    p.set_grad_buffer(flat.narrow(0, at, k));
    params.push_back(p);
    at += k;
  }
  EXPECT_NEAR(grad_norm(params), want, 1e-12 * want);
  const ClipResult r = clip_grad_norm(params, max_norm);
  EXPECT_TRUE(r.clipped);
  EXPECT_NEAR(r.total_norm, want, 1e-12 * want);
  EXPECT_GOLDEN(flat, optim_fixture().read("clip/list_f64/clipped"), 1e-12, 1e-12);
}

TEST(GradClip, NonFiniteIsReportedAndGradsUntouched) {
  for (double bad : {NAN, INFINITY}) {
    Tensor g = Tensor::from_vector(std::vector<double>{1.0, bad, 3.0}, {3}, DType::F32);
    const ClipResult r = clip_grad_norm(g, 1.0);
    EXPECT_FALSE(r.finite);
    EXPECT_FALSE(r.clipped);
    const std::vector<double> after = g.to_vector();
    EXPECT_EQ(after[0], 1.0);
    EXPECT_EQ(after[2], 3.0);
  }
}

TEST(GradClip, BadInputsThrow) {
  Tensor g = Tensor::ones({4});
  for (double m : {0.0, -1.0, double(NAN)}) {
    try {
      clip_grad_norm(g, m);
      ADD_FAILURE() << "max_norm " << m;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("clip_grad_norm"));
      EXPECT_THAT(e.what(), HasSubstr("max_norm"));
    }
  }
  EXPECT_THROW(clip_grad_norm(Tensor::zeros({4}, DType::I64), 1.0), Error);
  Tensor no_grad = Tensor::zeros({2}).set_requires_grad(true);
  try {
    clip_grad_norm(std::vector<Tensor>{no_grad}, 1.0);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("clip_grad_norm"));
    EXPECT_THAT(e.what(), HasSubstr("no gradient"));
  }
}

}  // namespace
}  // namespace asr::train
