// AdamW / SGD against torch.optim trajectories, the list path, determinism, state save/restore
// and bad inputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "asr/core/generator.h"
#include "asr/train/optimizer.h"
#include "optim_fixture.h"
#include "support/gradcheck.h"

namespace asr::train {
namespace {

using ::testing::HasSubstr;
using test::optim_fixture;
using test::optional_attr;

std::unique_ptr<Optimizer> make_from_fixture(const std::string& group) {
  const std::string obj = "/" + group;
  const double lr = optim_fixture().attr(obj, "lr");
  if (group.rfind("adamw", 0) == 0) {
    AdamWConfig c;
    c.lr = lr;
    c.beta1 = optim_fixture().attr(obj, "beta1");
    c.beta2 = optim_fixture().attr(obj, "beta2");
    c.eps = optim_fixture().attr(obj, "eps");
    c.weight_decay = optim_fixture().attr(obj, "weight_decay");
    return std::make_unique<AdamW>(c);
  }
  SGDConfig c;
  c.lr = lr;
  c.momentum = optional_attr(obj, "momentum").value_or(0.0);
  c.dampening = optional_attr(obj, "dampening").value_or(0.0);
  c.weight_decay = optional_attr(obj, "weight_decay").value_or(0.0);
  c.nesterov = optional_attr(obj, "nesterov").value_or(0.0) != 0;
  return std::make_unique<SGD>(c);
}

Tensor as_dtype(const golden::Array& a, DType dt) { return Tensor::from_vector(a.data, a.shape, dt); }

class TorchTrajectory : public ::testing::TestWithParam<std::string> {};

// Flat path: one parameter tensor, one gradient tensor, 10 steps, every step compared.
TEST_P(TorchTrajectory, FlatMatchesTorch) {
  for (const char* suffix : {"f64", "f32"}) {
    const std::string group = GetParam() + "_" + suffix;
    const DType dt = std::string(suffix) == "f64" ? DType::F64 : DType::F32;
    const double tol = dt == DType::F64 ? 1e-12 : 1e-6;
    auto opt = make_from_fixture(group);
    Tensor p = as_dtype(optim_fixture().read(group + "/p0"), dt);
    const Tensor grads = as_dtype(optim_fixture().read(group + "/grads"), dt);
    const golden::Array ref = optim_fixture().read(group + "/params");
    for (int64_t s = 0; s < grads.size(0); ++s) {
      opt->step(p, grads.select(0, s).contiguous());
      golden::Array row;
      row.shape = {ref.shape[1]};
      row.data.assign(ref.data.begin() + s * ref.shape[1], ref.data.begin() + (s + 1) * ref.shape[1]);
      SCOPED_TRACE(group + " step " + std::to_string(s + 1));
      EXPECT_GOLDEN(p, row, tol, tol);
    }
    EXPECT_EQ(opt->step_count(), grads.size(0));
  }
}

// List path: the same vector split into two leaves whose gradients live in one flat buffer.
TEST_P(TorchTrajectory, ParameterListMatchesTorch) {
  const std::string group = GetParam() + "_f64";
  auto opt = make_from_fixture(group);
  const golden::Array p0 = optim_fixture().read(group + "/p0");
  const Tensor grads = as_dtype(optim_fixture().read(group + "/grads"), DType::F64);
  const golden::Array ref = optim_fixture().read(group + "/params");
  const int64_t n = p0.shape[0], split = 3;
  std::vector<double> a0(p0.data.begin(), p0.data.begin() + split);
  std::vector<double> b0(p0.data.begin() + split, p0.data.end());
  Tensor a = Tensor::from_vector(a0, {split}, DType::F64).set_requires_grad(true);
  Tensor b = Tensor::from_vector(b0, {n - split}, DType::F64).set_requires_grad(true);
  Tensor flat_grad = Tensor::zeros({n}, DType::F64);
  a.set_grad_buffer(flat_grad.narrow(0, 0, split));
  b.set_grad_buffer(flat_grad.narrow(0, split, n - split));
  for (int64_t s = 0; s < grads.size(0); ++s) {
    flat_grad.copy_(grads.select(0, s));
    opt->step({a, b});
    std::vector<double> got = a.to_vector();
    const std::vector<double> gb = b.to_vector();
    got.insert(got.end(), gb.begin(), gb.end());
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(got[i], ref.data[s * n + i], 1e-12) << group << " step " << s + 1 << " i " << i;
    }
  }
  for (const auto& [key, bufs] : opt->state().buffers) EXPECT_EQ(bufs.size(), 2u) << key;
}

INSTANTIATE_TEST_SUITE_P(Optim, TorchTrajectory,
                         ::testing::Values("adamw", "adamw_b", "sgd_momentum", "sgd_nesterov",
                                           "sgd_dampening", "sgd_plain"));

Tensor random_vec(int64_t n, uint64_t seed, DType dt) {
  Generator gen(seed);
  return Tensor::randn({n}, gen, 1.0, dt);
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.numel() == b.numel() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

// Large enough to take the OpenMP path; repeated runs must agree bit for bit.
TEST(Optimizer, DeterministicAcrossRuns) {
  const int64_t n = 100003;
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor results[2];
    for (Tensor& out : results) {
      AdamW opt(AdamWConfig{1e-3, 0.9, 0.999, 1e-8, 0.05});
      Tensor p = random_vec(n, 1, dt);
      for (int s = 0; s < 3; ++s) opt.step(p, random_vec(n, 10 + s, dt));
      out = p;
    }
    EXPECT_TRUE(same_bits(results[0], results[1]));
  }
}

template <typename Opt, typename Cfg>
void check_save_restore(const Cfg& cfg, const std::vector<std::string>& keys) {
  const int64_t n = 50;
  Opt a(cfg);
  Tensor pa = random_vec(n, 3, DType::F32);
  for (int s = 0; s < 4; ++s) a.step(pa, random_vec(n, 100 + s, DType::F32), 0.01 * (s + 1));
  const OptimizerState saved = a.state();
  const Tensor p_saved = pa.clone();
  EXPECT_EQ(saved.optimizer, a.name());
  EXPECT_EQ(saved.step, 4);
  ASSERT_EQ(saved.buffers.size(), keys.size());
  for (const std::string& k : keys) {
    ASSERT_EQ(saved.buffers.at(k).size(), 1u);
    EXPECT_EQ(saved.buffers.at(k)[0].numel(), n);
    // A copy, not the live buffer.
    EXPECT_NE(saved.buffers.at(k)[0].raw_data(), a.buffer(k)[0].raw_data());
  }
  for (int s = 4; s < 10; ++s) a.step(pa, random_vec(n, 100 + s, DType::F32), 0.01 * (s + 1));

  Opt b(cfg);
  b.load_state(saved);
  EXPECT_EQ(b.step_count(), 4);
  Tensor pb = p_saved.clone();
  for (int s = 4; s < 10; ++s) b.step(pb, random_vec(n, 100 + s, DType::F32), 0.01 * (s + 1));
  EXPECT_TRUE(same_bits(pa, pb)) << a.name();
  for (const std::string& k : keys) EXPECT_TRUE(same_bits(a.buffer(k)[0], b.buffer(k)[0])) << k;
}

TEST(Optimizer, SaveRestoreContinuesIdentically) {
  check_save_restore<AdamW>(AdamWConfig{1e-3, 0.9, 0.98, 1e-9, 0.1}, {"exp_avg", "exp_avg_sq"});
  SGDConfig sc;
  sc.momentum = 0.9;
  sc.weight_decay = 1e-3;
  sc.nesterov = true;
  check_save_restore<SGD>(sc, {"momentum_buffer"});
  check_save_restore<SGD>(SGDConfig{}, {});  // plain SGD: step count only
}

TEST(Optimizer, ExplicitLrOverridesConfig) {
  // SGD without momentum: p -= lr * g exactly.
  SGD opt(SGDConfig{0.5});
  Tensor p = Tensor::from_vector(std::vector<double>{1.0, 2.0}, {2}, DType::F64);
  const Tensor g = Tensor::from_vector(std::vector<double>{0.5, -1.0}, {2}, DType::F64);
  opt.step(p, g, 0.25);
  EXPECT_EQ(p.to_vector(), (std::vector<double>{0.875, 2.25}));
  opt.step(p, g);  // config lr
  EXPECT_EQ(p.to_vector(), (std::vector<double>{0.625, 2.75}));
}

template <typename F>
void expect_error(F&& f, const std::string& who, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << "expected asr::Error naming " << who;
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(who));
    EXPECT_THAT(e.what(), HasSubstr(what));
  }
}

TEST(Optimizer, BadConfigThrows) {
  expect_error([] { AdamW(AdamWConfig{-1e-3}); }, "AdamW", "lr");
  expect_error([] { AdamW(AdamWConfig{1e-3, 1.0}); }, "AdamW", "beta1");
  expect_error([] { AdamW(AdamWConfig{1e-3, 0.9, -0.1}); }, "AdamW", "beta2");
  expect_error([] { AdamW(AdamWConfig{1e-3, 0.9, 0.999, -1}); }, "AdamW", "eps");
  expect_error([] { AdamW(AdamWConfig{1e-3, 0.9, 0.999, 1e-8, -0.1}); }, "AdamW", "weight_decay");
  expect_error([] { SGD(SGDConfig{-0.1}); }, "SGD", "lr");
  expect_error([] { SGD(SGDConfig{0.1, -0.9}); }, "SGD", "momentum");
  SGDConfig nest;
  nest.nesterov = true;
  expect_error([&] { SGD{nest}; }, "SGD", "nesterov");
}

TEST(Optimizer, BadInputsThrow) {
  AdamW adam;
  SGD sgd(SGDConfig{0.1, 0.9});
  Tensor p = Tensor::zeros({6});
  expect_error([&] { adam.step(p, Tensor::zeros({5})); }, "AdamW", "f32[5]");
  expect_error([&] { sgd.step(p, Tensor::zeros({6}, DType::F64)); }, "SGD", "f64[6]");
  expect_error([&] { adam.step(p, Tensor::zeros({6}), -1.0); }, "AdamW", "learning rate");
  expect_error([&] { adam.step(p, Tensor::zeros({6}), NAN); }, "AdamW", "learning rate");
  expect_error([&] { adam.step(Tensor::zeros({6}, DType::I64), Tensor::zeros({6}, DType::I64)); },
               "AdamW", "f32 or f64");
  Tensor m = Tensor::zeros({3, 4});
  expect_error([&] { sgd.step(m.transpose(0, 1), Tensor::zeros({4, 3})); }, "SGD", "contiguous");
  // No gradient on a listed parameter.
  Tensor leaf = Tensor::zeros({6}).set_requires_grad(true);
  expect_error([&] { adam.step(std::vector<Tensor>{leaf}); }, "AdamW", "no gradient");
  expect_error([&] { adam.step(std::vector<Tensor>{}); }, "AdamW", "no parameters");
  // State is sized by the first step; a different parameter afterwards is refused.
  adam.step(p, Tensor::zeros({6}));
  expect_error([&] { adam.step(Tensor::zeros({7}), Tensor::zeros({7})); }, "AdamW",
               "does not match parameter");
}

TEST(Optimizer, BadStateThrows) {
  AdamW adam;
  SGD sgd(SGDConfig{0.1, 0.9});
  Tensor p = Tensor::zeros({4});
  sgd.step(p, Tensor::ones({4}));
  expect_error([&] { adam.load_state(sgd.state()); }, "AdamW", "'SGD'");
  OptimizerState s = sgd.state();
  s.buffers.clear();
  expect_error([&] { sgd.load_state(s); }, "SGD", "momentum_buffer");
  adam.step(p, Tensor::ones({4}));
  s = adam.state();
  s.buffers["exp_avg_sq"][0] = Tensor::zeros({5});
  expect_error([&] { adam.load_state(s); }, "AdamW", "does not match");
  s = adam.state();
  s.step = -1;
  expect_error([&] { adam.load_state(s); }, "AdamW", "step");
  expect_error([&] { AdamW().buffer("exp_avg"); }, "AdamW", "exp_avg");
}

}  // namespace
}  // namespace asr::train
