// NeMo's learning-rate formulas (nemo/core/optim/lr_scheduler.py), evaluated with the same
// operation order in double so the values agree with NeMo's to the last bit or so.
#include "asr/train/lr_scheduler.h"

#include <algorithm>
#include <cmath>

#include "asr/core/error.h"

namespace asr::train {

namespace {

constexpr double kPi = 3.14159265358979323846;  // == Python's math.pi

// NeMo: warmup_steps wins, else int(warmup_ratio * max_steps), else 0.
int64_t resolve_steps(const char* who, const char* what, const std::optional<int64_t>& steps,
                      const std::optional<double>& ratio, const std::optional<int64_t>& max_steps) {
  ASR_CHECK(!(steps && ratio), who, "give either ", what, "_steps or ", what, "_ratio, not both");
  if (steps) {
    ASR_CHECK(*steps >= 0, who, what, "_steps must be >= 0, got ", *steps);
    return *steps;
  }
  if (ratio) {
    ASR_CHECK(max_steps, who, what, "_ratio needs max_steps");
    ASR_CHECK(std::isfinite(*ratio) && *ratio >= 0 && *ratio <= 1, who, what,
              "_ratio must be in [0, 1], got ", *ratio);
    return static_cast<int64_t>(*ratio * static_cast<double>(*max_steps));
  }
  return 0;
}

void check_lrs(const char* who, double lr, double min_lr) {
  ASR_CHECK(std::isfinite(lr) && lr >= 0, who, "lr must be finite and >= 0, got ", lr);
  ASR_CHECK(std::isfinite(min_lr) && min_lr >= 0, who, "min_lr must be finite and >= 0, got ",
            min_lr);
  ASR_CHECK(lr >= min_lr, who, "lr (", lr, ") is lower than min_lr (", min_lr, ")");
}

void check_step(const char* who, int64_t step) {
  ASR_CHECK(step >= 0, who, "step must be >= 0, got ", step);
}

double warmup_lr(double lr, int64_t step, int64_t warmup) {
  return lr * (static_cast<double>(step + 1) / static_cast<double>(warmup + 1));
}

}  // namespace

// ---- ConstantLr (NeMo WarmupPolicy) ----------------------------------------------------------

ConstantLr::ConstantLr(const ConstantConfig& cfg) : cfg_(cfg) {
  check_lrs("ConstantLr", cfg.lr, cfg.min_lr);
  ASR_CHECK(!cfg.max_steps || *cfg.max_steps > 0, "ConstantLr", "max_steps must be > 0, got ",
            cfg.max_steps.value_or(0));
  warmup_ = resolve_steps("ConstantLr", "warmup", cfg.warmup_steps, cfg.warmup_ratio,
                          cfg.max_steps);
}

double ConstantLr::lr_at(int64_t step) const {
  check_step("ConstantLr", step);
  if (step <= warmup_ && warmup_ > 0) return warmup_lr(cfg_.lr, step, warmup_);
  if (cfg_.max_steps && step > *cfg_.max_steps) return cfg_.min_lr;
  return cfg_.lr;
}

// ---- NoamAnnealing ---------------------------------------------------------------------------

NoamAnnealing::NoamAnnealing(const NoamConfig& cfg) : cfg_(cfg) {
  check_lrs("NoamAnnealing", cfg.lr, cfg.min_lr);
  ASR_CHECK(std::isfinite(cfg.d_model) && cfg.d_model > 0, "NoamAnnealing",
            "d_model must be > 0, got ", cfg.d_model);
  ASR_CHECK(!cfg.max_steps || *cfg.max_steps > 0, "NoamAnnealing", "max_steps must be > 0, got ",
            cfg.max_steps.value_or(0));
  warmup_ = resolve_steps("NoamAnnealing", "warmup", cfg.warmup_steps, cfg.warmup_ratio,
                          cfg.max_steps);
  normalize_ = std::pow(cfg.d_model, -0.5);
}

double NoamAnnealing::lr_at(int64_t step) const {
  check_step("NoamAnnealing", step);
  const int64_t s = std::max<int64_t>(1, step);  // NeMo: step 0 uses step 1
  const double sd = static_cast<double>(s);
  double mult;
  if (warmup_ > 0) {
    mult = normalize_ * std::min(std::pow(sd, -0.5),
                                 sd * std::pow(static_cast<double>(warmup_), -1.5));
  } else {
    mult = normalize_ * std::pow(sd, -0.5);
  }
  double out = cfg_.lr * mult;
  if (s > warmup_) out = std::max(out, cfg_.min_lr);
  return out;
}

// ---- CosineAnnealing -------------------------------------------------------------------------

CosineAnnealing::CosineAnnealing(const CosineConfig& cfg) : cfg_(cfg) {
  check_lrs("CosineAnnealing", cfg.lr, cfg.min_lr);
  ASR_CHECK(cfg.max_steps > 0, "CosineAnnealing", "max_steps must be > 0, got ", cfg.max_steps);
  warmup_ = resolve_steps("CosineAnnealing", "warmup", cfg.warmup_steps, cfg.warmup_ratio,
                          cfg.max_steps);
  constant_ = resolve_steps("CosineAnnealing", "constant", cfg.constant_steps, cfg.constant_ratio,
                            cfg.max_steps);
  decay_ = cfg.max_steps - (constant_ + warmup_);
  ASR_CHECK(decay_ > 0, "CosineAnnealing", "max_steps (", cfg.max_steps,
            ") must exceed warmup (", warmup_, ") + constant (", constant_, ") steps");
  // NeMo's Megatron variant asserts max_lr > min_lr.
  ASR_CHECK(constant_ == 0 || cfg.lr > cfg.min_lr, "CosineAnnealing",
            "with constant steps lr (", cfg.lr, ") must exceed min_lr (", cfg.min_lr, ")");
}

// NeMo's _linear_warmup_with_cosine_annealing (used when constant_steps > 0).
double CosineAnnealing::megatron_lr(int64_t step) const {
  if (warmup_ > 0 && step <= warmup_) {
    return cfg_.lr * static_cast<double>(step) / static_cast<double>(warmup_);
  }
  if (step > warmup_ + decay_) return cfg_.min_lr;
  const double ratio = static_cast<double>(step - warmup_) / static_cast<double>(decay_);
  const double coeff = 0.5 * (std::cos(kPi * ratio) + 1.0);
  return cfg_.min_lr + coeff * (cfg_.lr - cfg_.min_lr);
}

double CosineAnnealing::lr_at(int64_t step) const {
  check_step("CosineAnnealing", step);
  const int64_t max_steps = cfg_.max_steps;
  if (warmup_ > 0 && step <= warmup_) {
    return constant_ == 0 ? warmup_lr(cfg_.lr, step, warmup_) : megatron_lr(step);
  }
  if (constant_ > 0 && warmup_ + decay_ < step && step <= max_steps) return megatron_lr(step);
  if (step > max_steps) return cfg_.min_lr;
  if (constant_ > 0) return megatron_lr(step);
  // _cosine_annealing(lr, step - warmup, max_steps - warmup, min_lr)
  const double s = static_cast<double>(step - warmup_);
  const double m = static_cast<double>(max_steps - warmup_);
  const double mult = 0.5 * (1 + std::cos(kPi * s / m));
  return (cfg_.lr - cfg_.min_lr) * mult + cfg_.min_lr;
}

// ---- LrScheduler -----------------------------------------------------------------------------

LrScheduler::LrScheduler(std::shared_ptr<const LrSchedule> schedule)
    : schedule_(std::move(schedule)) {
  ASR_CHECK(schedule_ != nullptr, "LrScheduler", "no schedule given");
}

void LrScheduler::set_step(int64_t step) {
  ASR_CHECK(step >= 0, "LrScheduler", "step must be >= 0, got ", step);
  step_ = step;
}

}  // namespace asr::train
