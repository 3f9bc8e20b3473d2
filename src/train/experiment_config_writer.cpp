// The resolved experiment config as YAML (written into the run folder), and config equality
// (what "reads back to an equal config" means).
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <tuple>

#include "asr/train/experiment_config.h"

namespace asr::train {

namespace {

// The shortest decimal that reads back to exactly `v`, with a ".0" in mantissas without a point
// so that YAML 1.1 readers (PyYAML) also see a float ("2.0", "0.001", "1.0e-05").
std::string format_double(double v) {
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find('.') == std::string::npos) {
    const size_t exponent = s.find('e');
    s.insert(exponent == std::string::npos ? s.size() : exponent, ".0");
  }
  return s;
}

// Strings that plain YAML would read as null, or not at all, are double-quoted.
void put_string(YAML::Emitter& out, const std::string& s) {
  const bool null_like = s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
  if (null_like) out << YAML::DoubleQuoted;
  out << s;
}

void put_double(YAML::Emitter& out, double v) { out << format_double(v); }

template <typename T>
void put_optional(YAML::Emitter& out, const std::optional<T>& v) {
  if (!v) {
    out << YAML::Null;
  } else if constexpr (std::is_same_v<T, double>) {
    put_double(out, *v);
  } else {
    out << *v;
  }
}

void put_string_list(YAML::Emitter& out, const std::vector<std::string>& items) {
  out << YAML::Flow << YAML::BeginSeq;
  for (const auto& s : items) put_string(out, s);
  out << YAML::EndSeq;
}

void put_adapter(YAML::Emitter& out, const models::AdapterSpec& a) {
  const models::AdapterConfig& c = a.config;
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value;
  put_string(out, a.name);
  out << YAML::Key << "type" << YAML::Value
      << (c.type == models::AdapterType::Linear ? "linear" : "rel_pos_mha");
  out << YAML::Key << "module" << YAML::Value << a.module;
  out << YAML::Key << "layers" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (int64_t l : a.layers) out << l;
  out << YAML::EndSeq;
  out << YAML::Key << "dim" << YAML::Value << c.dim;
  out << YAML::Key << "activation" << YAML::Value << c.activation;
  out << YAML::Key << "norm_position" << YAML::Value << c.norm_position;
  out << YAML::Key << "dropout" << YAML::Value;
  put_double(out, c.dropout);
  out << YAML::Key << "n_head" << YAML::Value << c.n_head;
  out << YAML::Key << "proj_dim" << YAML::Value;
  put_optional(out, c.proj_dim);
  out << YAML::Key << "stochastic_depth" << YAML::Value;
  put_double(out, c.strategy.stochastic_depth);
  out << YAML::Key << "l2_lambda" << YAML::Value;
  put_double(out, c.strategy.l2_lambda);
  out << YAML::Key << "enabled" << YAML::Value << a.enabled;
  out << YAML::EndMap;
}

void put_shard_set(YAML::Emitter& out, const ShardSetConfig& s, bool validation) {
  out << YAML::BeginMap;
  if (validation) {
    out << YAML::Key << "name" << YAML::Value;
    put_string(out, s.name);
  }
  out << YAML::Key << "shards" << YAML::Value;
  put_string_list(out, s.shards);
  out << YAML::Key << "batch_size" << YAML::Value << s.batch_size;
  out << YAML::Key << "batch_duration" << YAML::Value;
  put_double(out, s.batch_duration);
  if (!validation) {
    out << YAML::Key << "num_buckets" << YAML::Value << s.num_buckets;
    out << YAML::Key << "shuffle" << YAML::Value << s.shuffle;
  }
  out << YAML::EndMap;
}

void put_data(YAML::Emitter& out, const DataSection& d) {
  out << YAML::BeginMap;
  out << YAML::Key << "train" << YAML::Value;
  put_shard_set(out, d.train, false);
  out << YAML::Key << "validation" << YAML::Value << YAML::BeginSeq;
  for (const auto& v : d.validation) put_shard_set(out, v, true);
  out << YAML::EndSeq;
  out << YAML::Key << "spec_augment" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "freq_masks" << YAML::Value << d.spec_augment.freq_masks;
  out << YAML::Key << "freq_width" << YAML::Value << d.spec_augment.freq_width;
  out << YAML::Key << "time_masks" << YAML::Value << d.spec_augment.time_masks;
  out << YAML::Key << "time_width" << YAML::Value;
  put_double(out, d.spec_augment.time_width);
  out << YAML::EndMap;
  out << YAML::Key << "prefetch_batches" << YAML::Value << d.prefetch_batches;
  out << YAML::EndMap;
}

void put_optim(YAML::Emitter& out, const OptimSection& o) {
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << o.name;
  out << YAML::Key << "lr" << YAML::Value;
  put_double(out, o.lr);
  out << YAML::Key << "betas" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  put_double(out, o.beta1);
  put_double(out, o.beta2);
  out << YAML::EndSeq;
  out << YAML::Key << "eps" << YAML::Value;
  put_double(out, o.eps);
  out << YAML::Key << "weight_decay" << YAML::Value;
  put_double(out, o.weight_decay);
  out << YAML::Key << "momentum" << YAML::Value;
  put_double(out, o.momentum);
  out << YAML::Key << "nesterov" << YAML::Value << o.nesterov;
  const SchedSection& s = o.sched;
  out << YAML::Key << "sched" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << s.name;
  out << YAML::Key << "warmup_steps" << YAML::Value;
  put_optional(out, s.warmup_steps);
  out << YAML::Key << "warmup_ratio" << YAML::Value;
  put_optional(out, s.warmup_ratio);
  out << YAML::Key << "constant_steps" << YAML::Value;
  put_optional(out, s.constant_steps);
  out << YAML::Key << "constant_ratio" << YAML::Value;
  put_optional(out, s.constant_ratio);
  out << YAML::Key << "min_lr" << YAML::Value;
  put_double(out, s.min_lr);
  out << YAML::Key << "d_model" << YAML::Value;
  put_optional(out, s.d_model);
  out << YAML::EndMap;
  out << YAML::EndMap;
}

void put_trainer(YAML::Emitter& out, const TrainerSection& t) {
  out << YAML::BeginMap;
  out << YAML::Key << "max_steps" << YAML::Value;
  put_optional(out, t.max_steps);
  out << YAML::Key << "max_epochs" << YAML::Value;
  put_optional(out, t.max_epochs);
  out << YAML::Key << "accumulate_grad_batches" << YAML::Value << t.accumulate_grad_batches;
  out << YAML::Key << "gradient_clip_val" << YAML::Value;
  put_double(out, t.gradient_clip_val);
  out << YAML::Key << "val_check_interval" << YAML::Value << t.val_check_interval;
  out << YAML::Key << "log_every_n_steps" << YAML::Value << t.log_every_n_steps;
  out << YAML::Key << "max_consecutive_nonfinite" << YAML::Value << t.max_consecutive_nonfinite;
  out << YAML::Key << "precision" << YAML::Value << t.precision;
  out << YAML::Key << "device" << YAML::Value << t.device;
  out << YAML::Key << "threads" << YAML::Value << t.threads;
  out << YAML::Key << "dist_backend" << YAML::Value << t.dist_backend;
  out << YAML::Key << "collective_timeout" << YAML::Value;
  put_double(out, t.collective_timeout);
  out << YAML::EndMap;
}

// ---- equality -----------------------------------------------------------------------------------

auto tie(const models::AdapterSpec& a) {
  const models::AdapterConfig& c = a.config;
  return std::tie(a.name, a.module, a.layers, a.enabled, c.type, c.dim, c.activation,
                  c.norm_position, c.dropout, c.n_head, c.proj_dim, c.strategy.stochastic_depth,
                  c.strategy.l2_lambda);
}
auto tie(const ShardSetConfig& s) {
  return std::tie(s.name, s.shards, s.batch_size, s.batch_duration, s.num_buckets, s.shuffle);
}
auto tie(const SpecAugmentSection& s) {
  return std::tie(s.freq_masks, s.freq_width, s.time_masks, s.time_width);
}
auto tie(const SchedSection& s) {
  return std::tie(s.name, s.warmup_steps, s.warmup_ratio, s.constant_steps, s.constant_ratio,
                  s.min_lr, s.d_model);
}
auto tie(const OptimSection& o) {
  return std::tie(o.name, o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.momentum, o.nesterov);
}
auto tie(const TrainerSection& t) {
  return std::tie(t.max_steps, t.max_epochs, t.accumulate_grad_batches, t.gradient_clip_val,
                  t.val_check_interval, t.log_every_n_steps, t.max_consecutive_nonfinite,
                  t.precision, t.device, t.threads, t.dist_backend, t.collective_timeout);
}
auto tie(const CheckpointSection& c) { return std::tie(c.every_n_steps, c.keep_last, c.monitor, c.mode); }
auto tie(const LoggingSection& l) { return std::tie(l.progress, l.json, l.tensorboard); }

template <typename T>
bool all_equal(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (tie(a[i]) != tie(b[i])) return false;
  return true;
}

}  // namespace

std::string to_yaml(const ExperimentConfig& c) {
  YAML::Emitter out;
  out.SetNullFormat(YAML::LowerNull);
  out << YAML::Comment("asr-adapt experiment config, resolved: defaults filled in, overrides applied");
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value;
  put_string(out, c.name);
  out << YAML::Key << "run_dir" << YAML::Value;
  put_string(out, c.run_dir);
  out << YAML::Key << "seed" << YAML::Value << c.seed;
  out << YAML::Key << "resume" << YAML::Value;
  put_string(out, c.resume);
  out << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "path" << YAML::Value;
  put_string(out, c.model.path);
  out << YAML::Key << "train_mode" << YAML::Value << c.model.train_mode;
  out << YAML::EndMap;
  out << YAML::Key << "adapters" << YAML::Value << YAML::BeginSeq;
  for (const auto& a : c.adapters) put_adapter(out, a);
  out << YAML::EndSeq;
  out << YAML::Key << "data" << YAML::Value;
  put_data(out, c.data);
  out << YAML::Key << "loss" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "reduction" << YAML::Value;
  put_string(out, c.loss.reduction);
  out << YAML::Key << "zero_infinity" << YAML::Value << c.loss.zero_infinity;
  out << YAML::EndMap;
  out << YAML::Key << "optim" << YAML::Value;
  put_optim(out, c.optim);
  out << YAML::Key << "trainer" << YAML::Value;
  put_trainer(out, c.trainer);
  out << YAML::Key << "checkpoint" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "every_n_steps" << YAML::Value << c.checkpoint.every_n_steps;
  out << YAML::Key << "keep_last" << YAML::Value << c.checkpoint.keep_last;
  out << YAML::Key << "monitor" << YAML::Value;
  put_string(out, c.checkpoint.monitor);
  out << YAML::Key << "mode" << YAML::Value << c.checkpoint.mode;
  out << YAML::EndMap;
  out << YAML::Key << "logging" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "progress" << YAML::Value << c.logging.progress;
  out << YAML::Key << "json" << YAML::Value << c.logging.json;
  out << YAML::Key << "tensorboard" << YAML::Value << c.logging.tensorboard;
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

bool operator==(const ExperimentConfig& a, const ExperimentConfig& b) {
  return std::tie(a.name, a.run_dir, a.seed, a.resume, a.model.path, a.model.train_mode) ==
             std::tie(b.name, b.run_dir, b.seed, b.resume, b.model.path, b.model.train_mode) &&
         all_equal(a.adapters, b.adapters) && tie(a.data.train) == tie(b.data.train) &&
         all_equal(a.data.validation, b.data.validation) &&
         tie(a.data.spec_augment) == tie(b.data.spec_augment) &&
         a.data.prefetch_batches == b.data.prefetch_batches &&
         std::tie(a.loss.reduction, a.loss.zero_infinity) ==
             std::tie(b.loss.reduction, b.loss.zero_infinity) &&
         tie(a.optim) == tie(b.optim) && tie(a.optim.sched) == tie(b.optim.sched) &&
         tie(a.trainer) == tie(b.trainer) && tie(a.checkpoint) == tie(b.checkpoint) &&
         tie(a.logging) == tie(b.logging);
}

}  // namespace asr::train
