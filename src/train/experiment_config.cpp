// The experiment schema: which keys each section takes, their types, allowed values and ranges,
// and the checks across keys. Reading and error locations are yaml_binding's; overrides are
// applied to the YAML tree first, so they go through exactly the same checks as the file.
#include "asr/train/experiment_config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "asr/core/error.h"
#include "yaml_binding.h"
#include "yaml_override.h"

namespace asr::train {

using yaml_binding::MapReader;
using yaml_binding::Origins;

namespace {

// ---- range checks on a key that was just read (absent keys keep their valid defaults) ----------

template <typename T>
void at_least(MapReader& m, const std::string& key, T& out, T min) {
  if (m.read(key, out) && out < min) m.fail_at(key, str_cat("must be >= ", min, " (got ", out, ")"));
}

template <typename T>
void at_least(MapReader& m, const std::string& key, std::optional<T>& out, T min) {
  if (m.read(key, out) && out && *out < min)
    m.fail_at(key, str_cat("must be >= ", min, " (got ", *out, ")"));
}

void positive(MapReader& m, const std::string& key, double& out) {
  if (m.read(key, out) && !(out > 0)) m.fail_at(key, str_cat("must be > 0 (got ", out, ")"));
}

void positive(MapReader& m, const std::string& key, std::optional<double>& out) {
  if (m.read(key, out) && out && !(*out > 0)) m.fail_at(key, str_cat("must be > 0 (got ", *out, ")"));
}

// A probability that cannot be 1 (dropout, stochastic depth: 1 would scale by 1/(1-p)).
void probability_below_one(MapReader& m, const std::string& key, double& out) {
  if (m.read(key, out) && !(out >= 0 && out < 1))
    m.fail_at(key, str_cat("must be in [0, 1) (got ", out, ")"));
}

void fraction(MapReader& m, const std::string& key, std::optional<double>& out) {
  if (m.read(key, out) && out && !(*out >= 0 && *out <= 1))
    m.fail_at(key, str_cat("must be in [0, 1] (got ", *out, ")"));
}

void non_empty_string(MapReader& m, const std::string& key, std::string& out, bool required) {
  if (m.read(key, out, required) && out.empty()) m.fail_at(key, "must not be empty");
}

// A string key whose empty value means "use the default": null reads as "".
void string_or_null(MapReader& m, const std::string& key, std::string& out) {
  std::optional<std::string> v;
  if (m.read(key, v)) out = v.value_or("");
}

void shard_list(MapReader& m, std::vector<std::string>& shards) {
  if (!m.read("shards", shards, true)) return;
  if (shards.empty()) m.fail_at("shards", "must list at least one shard directory");
  for (size_t i = 0; i < shards.size(); ++i)
    if (shards[i].empty())
      yaml_binding::fail(m.where_of("shards"), m.path_of("shards." + std::to_string(i)),
                         "must not be empty");
}

void batch_limits(MapReader& m, ShardSetConfig& s) {
  at_least(m, "batch_size", s.batch_size, int64_t{0});
  at_least(m, "batch_duration", s.batch_duration, 0.0);
}

// After finish(), so that a misspelt batch key is reported as such rather than as both being 0.
void require_a_batch_limit(const MapReader& m, const ShardSetConfig& s) {
  if (s.batch_size == 0 && s.batch_duration == 0)
    m.fail_at(m.has("batch_size") ? "batch_size" : "batch_duration",
              "one of batch_size / batch_duration must be > 0 (both are 0)");
}

// ---- sections -----------------------------------------------------------------------------------

struct ModelLocations {
  std::string train_mode;  // where model.train_mode (or the model section) is
};

ModelLocations bind_model(MapReader m, ModelSection& s) {
  non_empty_string(m, "path", s.path, true);
  m.read_enum("train_mode", s.train_mode, {"adapters", "full"});
  ModelLocations at{m.where_of("train_mode")};
  m.finish();
  return at;
}

models::AdapterSpec bind_adapter(MapReader m) {
  models::AdapterSpec s;
  models::AdapterConfig& c = s.config;
  if (m.read("name", s.name, true)) {
    if (s.name.empty() || s.name.find_first_of(".:") != std::string::npos)
      m.fail_at("name", str_cat("'", s.name, "' is not a valid adapter name (non-empty, no '.' or ':')"));
  }
  std::string type = "linear";
  m.read_enum("type", type, {"linear", "rel_pos_mha"});
  c.type = type == "linear" ? models::AdapterType::Linear : models::AdapterType::RelPositionMHA;
  m.read_enum("module", s.module, {"encoder", "decoder", "encoder+decoder"});
  if (c.type != models::AdapterType::Linear && s.module != "encoder")
    m.fail_at(m.has("module") ? "module" : "type",
              str_cat("a ", type, " adapter goes on the encoder only (module: encoder)"));
  if (m.read("layers", s.layers)) {
    for (size_t i = 0; i < s.layers.size(); ++i) {
      const std::string at = "layers." + std::to_string(i);
      if (s.layers[i] < 0)
        yaml_binding::fail(m.where_of("layers"), m.path_of(at),
                           str_cat("layer index must be >= 0 (got ", s.layers[i], ")"));
      if (std::count(s.layers.begin(), s.layers.begin() + static_cast<std::ptrdiff_t>(i), s.layers[i]))
        yaml_binding::fail(m.where_of("layers"), m.path_of(at),
                           str_cat("layer ", s.layers[i], " is listed twice"));
    }
    if (!s.layers.empty() && s.module == "decoder")
      m.fail_at("layers", "layer indices apply to encoder adapters only");
  }
  at_least(m, "dim", c.dim, int64_t{1});
  m.read_enum("activation", c.activation,
              {"swish", "silu", "relu", "gelu", "tanh", "sigmoid", "identity"});
  m.read_enum("norm_position", c.norm_position, {"pre", "post"});
  probability_below_one(m, "dropout", c.dropout);
  at_least(m, "n_head", c.n_head, int64_t{1});
  m.read("proj_dim", c.proj_dim);  // null = n_feat, < 1 = n_head, else the width (NeMo's rule)
  probability_below_one(m, "stochastic_depth", c.strategy.stochastic_depth);
  at_least(m, "l2_lambda", c.strategy.l2_lambda, 0.0);
  m.read("enabled", s.enabled);
  m.finish();
  return s;
}

// Names must be unique within a list of mappings: the second use is the error.
template <typename T>
void check_unique_names(MapReader& parent, const std::string& key, const std::vector<T>& items,
                        const char* what) {
  const YAML::Node list = parent.value(key);
  for (size_t i = 0; i < items.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (items[j].name == items[i].name) {
        const std::string at = parent.path_of(key + "." + std::to_string(i) + ".name");
        yaml_binding::fail(parent.origins().where(at, list[i]["name"], parent.where_of(key)), at,
                           str_cat("duplicate ", what, " name '", items[i].name, "' (also ",
                                   parent.path_of(key + "." + std::to_string(j)), ")"));
      }
}

// Binds each mapping of the list `key` (absent or null = none) with `bind_entry`.
template <typename T, typename Bind>
void bind_list(MapReader& parent, const std::string& key, std::vector<T>& out, Bind bind_entry) {
  const YAML::Node list = parent.sequence(key);
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = parent.path_of(key + "." + std::to_string(i));
    const std::string where = parent.origins().where(at, list[i], parent.where_of(key));
    out.push_back(bind_entry(MapReader(list[i], at, parent.origins(), where)));
  }
}

void bind_train_set(MapReader m, ShardSetConfig& s) {
  shard_list(m, s.shards);
  batch_limits(m, s);
  at_least(m, "num_buckets", s.num_buckets, int64_t{1});
  m.read("shuffle", s.shuffle);
  m.finish();
  require_a_batch_limit(m, s);
}

ShardSetConfig bind_validation_set(MapReader m) {
  ShardSetConfig s;
  s.shuffle = false;
  if (m.read("name", s.name, true) && (s.name.empty() || s.name.find('/') != std::string::npos))
    m.fail_at("name", str_cat("'", s.name, "' is not a valid set name (non-empty, no '/')"));
  shard_list(m, s.shards);
  batch_limits(m, s);
  m.finish();
  require_a_batch_limit(m, s);
  return s;
}

void bind_spec_augment(MapReader m, SpecAugmentSection& s) {
  at_least(m, "freq_masks", s.freq_masks, int64_t{0});
  at_least(m, "freq_width", s.freq_width, int64_t{0});
  at_least(m, "time_masks", s.time_masks, int64_t{0});
  // NeMo's float time_width: a fraction of each utterance's length.
  if (m.read("time_width", s.time_width) && !(s.time_width >= 0 && s.time_width <= 1))
    m.fail_at("time_width", str_cat("must be in [0, 1] (got ", s.time_width, ")"));
  m.finish();
}

void bind_data(MapReader m, DataSection& s) {
  bind_train_set(m.map("train"), s.train);
  bind_list(m, "validation", s.validation, bind_validation_set);
  check_unique_names(m, "validation", s.validation, "validation set");
  bind_spec_augment(m.map("spec_augment"), s.spec_augment);
  at_least(m, "prefetch_batches", s.prefetch_batches, int64_t{0});
  m.finish();
}

void bind_loss(MapReader m, LossSection& s) {
  string_or_null(m, "reduction", s.reduction);
  const std::vector<std::string> allowed = {"", "mean_batch", "mean_volume", "mean", "sum"};
  if (std::find(allowed.begin(), allowed.end(), s.reduction) == allowed.end())
    m.fail_at("reduction", str_cat("bad value '", s.reduction,
                                   "' (expected one of: mean_batch, mean_volume, mean, sum, or "
                                   "empty for the model's own)"));
  m.read("zero_infinity", s.zero_infinity);
  m.finish();
}

void bind_sched(MapReader m, SchedSection& s) {
  m.read_enum("name", s.name, {"CosineAnnealing", "NoamAnnealing", "constant"});
  at_least(m, "warmup_steps", s.warmup_steps, int64_t{0});
  fraction(m, "warmup_ratio", s.warmup_ratio);
  if (s.warmup_steps && s.warmup_ratio)
    m.fail_at("warmup_ratio", "give either warmup_steps or warmup_ratio, not both");
  at_least(m, "constant_steps", s.constant_steps, int64_t{0});
  fraction(m, "constant_ratio", s.constant_ratio);
  if (s.constant_steps && s.constant_ratio)
    m.fail_at("constant_ratio", "give either constant_steps or constant_ratio, not both");
  if (s.name != "CosineAnnealing" && (s.constant_steps || s.constant_ratio))
    m.fail_at(s.constant_steps ? "constant_steps" : "constant_ratio",
              str_cat("only CosineAnnealing holds a constant lr (name is ", s.name, ")"));
  at_least(m, "min_lr", s.min_lr, 0.0);
  positive(m, "d_model", s.d_model);
  if (s.d_model && s.name != "NoamAnnealing")
    m.fail_at("d_model", str_cat("only NoamAnnealing uses d_model (name is ", s.name, ")"));
  m.finish();
}

void bind_optim(MapReader m, OptimSection& s) {
  m.read_enum("name", s.name, {"adamw", "sgd"});
  positive(m, "lr", s.lr);
  std::vector<double> betas;
  if (m.read("betas", betas)) {
    if (betas.size() != 2)
      m.fail_at("betas", str_cat("expected a list of 2 numbers [beta1, beta2], got ", betas.size()));
    for (size_t i = 0; i < 2; ++i)
      if (!(betas[i] >= 0 && betas[i] < 1))
        yaml_binding::fail(m.where_of("betas"), m.path_of("betas." + std::to_string(i)),
                           str_cat("must be in [0, 1) (got ", betas[i], ")"));
    s.beta1 = betas[0];
    s.beta2 = betas[1];
  }
  positive(m, "eps", s.eps);
  at_least(m, "weight_decay", s.weight_decay, 0.0);
  probability_below_one(m, "momentum", s.momentum);
  m.read("nesterov", s.nesterov);
  if (s.name == "sgd" && s.nesterov && s.momentum == 0)
    m.fail_at("nesterov", "Nesterov momentum needs momentum > 0");
  bind_sched(m.map("sched"), s.sched);
  m.finish();
}

void bind_trainer(MapReader m, TrainerSection& s) {
  at_least(m, "max_steps", s.max_steps, int64_t{1});
  at_least(m, "max_epochs", s.max_epochs, int64_t{1});
  at_least(m, "accumulate_grad_batches", s.accumulate_grad_batches, int64_t{1});
  at_least(m, "gradient_clip_val", s.gradient_clip_val, 0.0);
  at_least(m, "val_check_interval", s.val_check_interval, int64_t{0});
  at_least(m, "log_every_n_steps", s.log_every_n_steps, int64_t{1});
  at_least(m, "max_consecutive_nonfinite", s.max_consecutive_nonfinite, int64_t{1});
  m.read_enum("precision", s.precision, {"fp32", "bf16"});
  m.read_enum("device", s.device, {"cpu", "cuda"});
  if (s.precision == "bf16" && s.device != "cuda")
    m.fail_at("precision", "bf16 needs device: cuda");
  at_least(m, "threads", s.threads, int64_t{0});
  m.read_enum("dist_backend", s.dist_backend, {"auto", "single", "mpi", "nccl"});
  positive(m, "collective_timeout", s.collective_timeout);
  m.finish();
  if (!s.max_steps && !s.max_epochs)
    yaml_binding::fail(m.where_of("max_steps"), m.path_of("max_steps"),
                       "missing required key: set trainer.max_steps or trainer.max_epochs");
}

void bind_checkpoint(MapReader m, CheckpointSection& s) {
  at_least(m, "every_n_steps", s.every_n_steps, int64_t{0});
  at_least(m, "keep_last", s.keep_last, int64_t{1});
  string_or_null(m, "monitor", s.monitor);
  m.read_enum("mode", s.mode, {"min", "max"});
  m.finish();
}

void bind_logging(MapReader m, LoggingSection& s) {
  m.read_enum("progress", s.progress, {"auto", "always", "never"});
  m.read("json", s.json);
  m.read("tensorboard", s.tensorboard);
  m.finish();
}

ExperimentConfig bind_experiment(const YAML::Node& root, const Origins& origins) {
  ExperimentConfig c;
  MapReader top(root, "", origins, origins.where("", root, origins.source()));
  non_empty_string(top, "name", c.name, false);
  string_or_null(top, "run_dir", c.run_dir);
  top.read("seed", c.seed);
  non_empty_string(top, "resume", c.resume, false);
  const ModelLocations model_at = bind_model(top.map("model"), c.model);
  bind_list(top, "adapters", c.adapters, bind_adapter);
  check_unique_names(top, "adapters", c.adapters, "adapter");
  bind_data(top.map("data"), c.data);
  bind_loss(top.map("loss"), c.loss);
  bind_optim(top.map("optim"), c.optim);
  bind_trainer(top.map("trainer"), c.trainer);
  bind_checkpoint(top.map("checkpoint"), c.checkpoint);
  bind_logging(top.map("logging"), c.logging);
  top.finish();

  if (c.model.train_mode == "adapters") {
    const std::string where = top.has("adapters") ? top.where_of("adapters") : model_at.train_mode;
    if (c.adapters.empty())
      yaml_binding::fail(where, "adapters", "missing required key: model.train_mode adapters needs "
                                            "at least one adapter");
    if (std::none_of(c.adapters.begin(), c.adapters.end(), [](const auto& a) { return a.enabled; }))
      yaml_binding::fail(where, "adapters", "every adapter is disabled: nothing would train");
  }
  if (c.run_dir.empty()) c.run_dir = "runs/" + c.name;
  c.source = origins.source();
  return c;
}

// Offset of the first byte that breaks UTF-8 (bad lead or continuation byte, overlong form,
// surrogate, > U+10FFFF), or npos. yaml-cpp passes such bytes through when reading but writes
// U+FFFD for them, so a config holding one would not read back as itself from to_yaml.
size_t invalid_utf8_at(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xc2 && c <= 0xdf) n = 1, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) n = 2, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) n = 3, cp = c & 0x07;
    else return i;
    if (s.size() - i <= n) return i;
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
      return i;
    i += n + 1;
  }
  return std::string::npos;
}

void require_utf8(const std::string& text, const std::string& where) {
  const size_t at = invalid_utf8_at(text);
  if (at == std::string::npos) return;
  const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
  static const char* hex = "0123456789abcdef";
  const unsigned char b = static_cast<unsigned char>(text[at]);
  throw Error(str_cat(where, ":", line, ": not valid UTF-8 (byte 0x", hex[b >> 4], hex[b & 15], " at offset ", at,
                      "); YAML text must be UTF-8"));
}

}  // namespace

ExperimentConfig parse_experiment_config(const std::string& yaml_text, const std::string& source,
                                         const std::vector<std::string>& overrides) {
  require_utf8(yaml_text, source);
  for (size_t i = 0; i < overrides.size(); ++i) require_utf8(overrides[i], str_cat(source, ": override ", i + 1));
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw Error(str_cat(source, ":", e.mark.line + 1, ": YAML syntax error: ", e.msg));
  }
  Origins origins(source);
  if (root.IsDefined() && !root.IsNull() && !root.IsMap())
    throw Error(str_cat(origins.where("", root, source), ": the top level must be a mapping"));
  for (const auto& o : overrides) yaml_binding::apply_override(root, o, origins);
  return bind_experiment(root, origins);
}

ExperimentConfig load_experiment_config(const std::string& path,
                                        const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(str_cat(path, ": cannot open experiment config"));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_experiment_config(text.str(), path, overrides);
}

}  // namespace asr::train
