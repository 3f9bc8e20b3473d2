// Learning-rate schedules against the values NeMo's own schedulers produced
// (tests/fixtures/optim/optim_reference.h5, /sched/*), plus the stateful wrapper and bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "asr/train/lr_scheduler.h"
#include "optim_fixture.h"

namespace asr::train {
namespace {

using ::testing::HasSubstr;
using test::optim_fixture;
using test::optional_attr;

std::optional<int64_t> int_attr(const std::string& obj, const std::string& name) {
  const auto v = optional_attr(obj, name);
  if (!v) return std::nullopt;
  return static_cast<int64_t>(*v);
}

std::shared_ptr<const LrSchedule> make_schedule(const std::string& group) {
  const std::string obj = "/sched/" + group;
  const double lr = optim_fixture().attr(obj, "base_lr");
  const double min_lr = optional_attr(obj, "min_lr").value_or(0.0);
  if (group.rfind("noam", 0) == 0) {
    NoamConfig c;
    c.lr = lr;
    c.d_model = optim_fixture().attr(obj, "d_model");
    c.warmup_steps = int_attr(obj, "warmup_steps");
    c.warmup_ratio = optional_attr(obj, "warmup_ratio");
    c.max_steps = int_attr(obj, "max_steps");
    c.min_lr = min_lr;
    return std::make_shared<NoamAnnealing>(c);
  }
  if (group.rfind("cosine", 0) == 0) {
    CosineConfig c;
    c.lr = lr;
    c.max_steps = *int_attr(obj, "max_steps");
    c.warmup_steps = int_attr(obj, "warmup_steps");
    c.warmup_ratio = optional_attr(obj, "warmup_ratio");
    c.constant_steps = int_attr(obj, "constant_steps");
    c.min_lr = min_lr;
    return std::make_shared<CosineAnnealing>(c);
  }
  ConstantConfig c;
  c.lr = lr;
  c.warmup_steps = int_attr(obj, "warmup_steps");
  c.max_steps = int_attr(obj, "max_steps");
  c.min_lr = min_lr;
  return std::make_shared<ConstantLr>(c);
}

class NemoSchedule : public ::testing::TestWithParam<std::string> {};

TEST_P(NemoSchedule, MatchesNemo) {
  const std::string group = GetParam();
  const golden::Array ref = optim_fixture().read("sched/" + group + "/lr");
  LrScheduler sched(make_schedule(group));
  for (size_t k = 0; k < ref.data.size(); ++k) {
    const double want = ref.data[k];
    const double got = sched.schedule().lr_at(static_cast<int64_t>(k));
    EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::fabs(want))) << group << " step " << k;
    EXPECT_EQ(sched.lr(), got) << "stateful wrapper, step " << k;
    sched.step();
  }
  EXPECT_EQ(sched.last_step(), static_cast<int64_t>(ref.data.size()));
}

INSTANTIATE_TEST_SUITE_P(Sched, NemoSchedule,
                         ::testing::Values("noam_warmup", "noam_nowarmup", "noam_ratio_minlr",
                                           "cosine_warmup", "cosine_ratio", "cosine_nowarmup",
                                           "cosine_constant", "warmup_policy"));

TEST(LrSchedule, ConstantWithoutWarmupIsConstant) {
  ConstantLr c(ConstantConfig{2e-4});
  for (int64_t s : {0, 1, 10, 100000}) EXPECT_EQ(c.lr_at(s), 2e-4);
}

TEST(LrSchedule, NoamStepZeroUsesStepOne) {
  NoamConfig c;
  c.lr = 1.0;
  c.d_model = 64;
  c.warmup_steps = 4;
  NoamAnnealing n(c);
  EXPECT_EQ(n.lr_at(0), n.lr_at(1));
  EXPECT_DOUBLE_EQ(n.lr_at(1), std::pow(64.0, -0.5) * 1.0 * std::pow(4.0, -1.5));
  EXPECT_DOUBLE_EQ(n.lr_at(16), std::pow(64.0, -0.5) * 0.25);
}

TEST(LrSchedule, SetStepRestores) {
  CosineConfig c;
  c.lr = 1e-3;
  c.max_steps = 50;
  c.warmup_steps = 5;
  auto sch = std::make_shared<CosineAnnealing>(c);
  LrScheduler a(sch), b(sch);
  for (int i = 0; i < 17; ++i) a.step();
  b.set_step(a.last_step());
  EXPECT_EQ(a.lr(), b.lr());
  EXPECT_EQ(b.lr(), sch->lr_at(17));
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

TEST(LrSchedule, BadInputsThrow) {
  expect_error([] { ConstantLr(ConstantConfig{-1.0}); }, "ConstantLr", "lr");
  expect_error([] { ConstantLr(ConstantConfig{1e-3}).lr_at(-1); }, "ConstantLr", "step");
  expect_error([] { ConstantLr(ConstantConfig{1e-3, std::nullopt, 0.1}); }, "ConstantLr",
               "max_steps");
  NoamConfig n;
  n.d_model = 0;
  expect_error([&] { NoamAnnealing{n}; }, "NoamAnnealing", "d_model");
  n.d_model = 256;
  n.lr = 1e-5;
  n.min_lr = 1e-3;
  expect_error([&] { NoamAnnealing{n}; }, "NoamAnnealing", "min_lr");
  n.min_lr = 0;
  n.warmup_steps = 10;
  n.warmup_ratio = 0.1;
  n.max_steps = 100;
  expect_error([&] { NoamAnnealing{n}; }, "NoamAnnealing", "warmup");
  CosineConfig c;
  c.lr = 1e-3;
  c.max_steps = 10;
  c.warmup_steps = 10;
  expect_error([&] { CosineAnnealing{c}; }, "CosineAnnealing", "max_steps");
  c.max_steps = 0;
  c.warmup_steps.reset();
  expect_error([&] { CosineAnnealing{c}; }, "CosineAnnealing", "max_steps");
  expect_error([] { LrScheduler(nullptr); }, "LrScheduler", "schedule");
  LrScheduler s(std::make_shared<ConstantLr>(ConstantConfig{}));
  expect_error([&] { s.set_step(-3); }, "LrScheduler", "step");
}

}  // namespace
}  // namespace asr::train
