#pragma once
// Learning-rate schedules with NeMo's formulas (nemo/core/optim/lr_scheduler.py). Each schedule
// is a pure function lr_at(step); LrScheduler is the stateful wrapper a training loop steps.
// Step numbering follows torch's LRScheduler as NeMo uses it: the lr for the first optimizer
// step is lr_at(0), and each scheduler.step() after an optimizer step advances by one.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace asr::train {

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  virtual const char* name() const = 0;
  virtual double lr_at(int64_t step) const = 0;  // throws asr::Error on step < 0
};

// NeMo's WarmupPolicy: base lr, with an optional linear warmup lr * (step+1) / (warmup+1) for
// step <= warmup, and min_lr after max_steps (when given). With no warmup: a constant.
struct ConstantConfig {
  double lr = 1e-3;
  std::optional<int64_t> warmup_steps;
  std::optional<double> warmup_ratio;  // warmup = int(ratio * max_steps); needs max_steps
  std::optional<int64_t> max_steps;
  double min_lr = 0.0;
};

class ConstantLr final : public LrSchedule {
 public:
  explicit ConstantLr(const ConstantConfig& cfg);
  const char* name() const override { return "ConstantLr"; }
  double lr_at(int64_t step) const override;
  int64_t warmup_steps() const { return warmup_; }

 private:
  ConstantConfig cfg_;
  int64_t warmup_ = 0;
};

// NeMo's NoamAnnealing: s = max(1, step);
// lr = base * d_model^-0.5 * min(s^-0.5, s * warmup^-1.5) (warmup > 0) or base * d_model^-0.5 *
// s^-0.5 (no warmup); floored at min_lr only once s > warmup.
struct NoamConfig {
  double lr = 1.0;  // NeMo's "max_lr" is the optimizer's base lr
  double d_model = 512;
  std::optional<int64_t> warmup_steps;
  std::optional<double> warmup_ratio;
  std::optional<int64_t> max_steps;  // only used by warmup_ratio
  double min_lr = 0.0;
};

class NoamAnnealing final : public LrSchedule {
 public:
  explicit NoamAnnealing(const NoamConfig& cfg);
  const char* name() const override { return "NoamAnnealing"; }
  double lr_at(int64_t step) const override;
  int64_t warmup_steps() const { return warmup_; }

 private:
  NoamConfig cfg_;
  int64_t warmup_ = 0;
  double normalize_ = 1.0;
};

// NeMo's CosineAnnealing (a WarmupAnnealHoldPolicy). Without constant steps: warmup
// lr * (step+1) / (warmup+1) for step <= warmup (when warmup > 0), then
// (lr - min_lr) * 0.5 * (1 + cos(pi * (step - warmup) / (max_steps - warmup))) + min_lr, and
// min_lr after max_steps. With constant_steps/ratio > 0: NeMo's Megatron variant (warmup
// lr * step / warmup, cosine over max_steps - warmup - constant, then min_lr).
struct CosineConfig {
  double lr = 1e-3;
  int64_t max_steps = 0;  // required, > warmup + constant
  std::optional<int64_t> warmup_steps;
  std::optional<double> warmup_ratio;
  std::optional<int64_t> constant_steps;
  std::optional<double> constant_ratio;
  double min_lr = 0.0;
};

class CosineAnnealing final : public LrSchedule {
 public:
  explicit CosineAnnealing(const CosineConfig& cfg);
  const char* name() const override { return "CosineAnnealing"; }
  double lr_at(int64_t step) const override;
  int64_t warmup_steps() const { return warmup_; }
  int64_t constant_steps() const { return constant_; }

 private:
  double megatron_lr(int64_t step) const;
  CosineConfig cfg_;
  int64_t warmup_ = 0;
  int64_t constant_ = 0;
  int64_t decay_ = 0;
};

// The stateful wrapper: lr() is the rate for the next optimizer step; step() advances.
class LrScheduler {
 public:
  explicit LrScheduler(std::shared_ptr<const LrSchedule> schedule);
  double lr() const { return schedule_->lr_at(step_); }
  void step() { ++step_; }
  int64_t last_step() const { return step_; }
  void set_step(int64_t step);  // restore from a checkpoint
  const LrSchedule& schedule() const { return *schedule_; }

 private:
  std::shared_ptr<const LrSchedule> schedule_;
  int64_t step_ = 0;
};

}  // namespace asr::train
