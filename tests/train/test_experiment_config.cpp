// The experiment config: the example configs load and round-trip through to_yaml, defaults,
// overrides, and every class of error with its exact file:line (or override) and dotted key.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "asr/train/experiment_config.h"
#include "support/test_util.h"

namespace asr::train {
namespace {

namespace fs = std::filesystem;

// A complete config with every required key; lines are numbered for the error tests below.
const char* kMinimal =
    "model:\n"              // 1
    "  path: m.nemo\n"      // 2
    "adapters:\n"           // 3
    "  - name: a\n"         // 4
    "data:\n"               // 5
    "  train:\n"            // 6
    "    shards: [tr]\n"    // 7
    "trainer:\n"            // 8
    "  max_steps: 100\n";   // 9

// kMinimal with `keys` (indented by 4) added to its adapter entry, from line 5.
std::string with_adapter_keys(const std::string& keys) {
  return "model:\n  path: m.nemo\nadapters:\n  - name: a\n" + keys +
         "data:\n  train:\n    shards: [tr]\ntrainer:\n  max_steps: 100\n";
}

// The message of the asr::Error that parsing `text` (as exp.yaml) with `overrides` throws.
std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parse_experiment_config(text, "exp.yaml", overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<fs::path> example_configs() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(fs::path(ASR_FIXTURE_DIR) / ".." / ".." / "configs"))
    if (entry.path().extension() == ".yaml" && entry.path().filename() != "demo.yaml")
      out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ExperimentConfig, EveryExampleConfigLoadsAndRoundTrips) {
  const auto paths = example_configs();
  std::vector<std::string> names;
  for (const auto& p : paths) names.push_back(p.filename().string());
  for (const char* expected : {"adapter_linear.yaml", "nemo_asr_adaptation.yaml",
                               "full_finetune.yaml", "mha_adapter.yaml"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  for (const auto& p : paths) {
    SCOPED_TRACE(p.string());
    const ExperimentConfig c = load_experiment_config(p.string());
    EXPECT_EQ(c.source, p.string());
    const std::string yaml = to_yaml(c);
    EXPECT_EQ(yaml.find(p.string()), std::string::npos) << "source leaked into the YAML";
    const ExperimentConfig back = parse_experiment_config(yaml, "resolved.yaml");
    EXPECT_TRUE(back == c) << yaml;
    EXPECT_EQ(to_yaml(back), yaml);
  }
}

TEST(ExperimentConfig, AdapterLinearExampleListsEveryKeyAtItsDefault) {
  // Its values are the defaults, so the resolved YAML of the file equals that of a minimal config
  // with the same required keys and non-default choices.
  const auto c = load_experiment_config(
      (fs::path(ASR_FIXTURE_DIR) / ".." / ".." / "configs" / "adapter_linear.yaml").string());
  ASSERT_EQ(c.adapters.size(), 1u);
  const models::AdapterConfig defaults;
  EXPECT_EQ(c.adapters[0].config.dim, defaults.dim);
  EXPECT_EQ(c.adapters[0].config.activation, defaults.activation);
  EXPECT_EQ(c.adapters[0].config.n_head, defaults.n_head);
  EXPECT_EQ(c.run_dir, "runs/adapter_linear");
  // Every key the writer emits appears in the documented example.
  std::ifstream in((fs::path(ASR_FIXTURE_DIR) / ".." / ".." / "configs" / "adapter_linear.yaml").string());
  const std::string example((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream resolved(to_yaml(c));
  for (std::string line; std::getline(resolved, line);) {
    const size_t colon = line.find(':');
    if (line.empty() || line[0] == '#' || colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(0, key.find_first_not_of(" -"));
    EXPECT_NE(example.find(key + ":"), std::string::npos) << "undocumented key " << key;
  }
}

TEST(ExperimentConfig, NemoExamplesCarryNemosValues) {
  const fs::path dir = fs::path(ASR_FIXTURE_DIR) / ".." / ".." / "configs";
  const auto adapt = load_experiment_config((dir / "nemo_asr_adaptation.yaml").string());
  ASSERT_EQ(adapt.adapters.size(), 1u);
  EXPECT_EQ(adapt.adapters[0].config.type, models::AdapterType::Linear);
  EXPECT_EQ(adapt.adapters[0].config.dim, 32);
  EXPECT_EQ(adapt.adapters[0].config.activation, "swish");
  EXPECT_EQ(adapt.adapters[0].config.norm_position, "pre");
  EXPECT_EQ(adapt.optim.name, "adamw");
  EXPECT_DOUBLE_EQ(adapt.optim.lr, 1e-3);
  EXPECT_DOUBLE_EQ(adapt.optim.beta2, 0.98);
  EXPECT_DOUBLE_EQ(adapt.optim.weight_decay, 0.0);
  EXPECT_EQ(adapt.optim.sched.name, "CosineAnnealing");
  EXPECT_EQ(adapt.optim.sched.warmup_ratio, 0.1);
  EXPECT_DOUBLE_EQ(adapt.optim.sched.min_lr, 1e-5);
  EXPECT_EQ(adapt.data.spec_augment.freq_masks, 0);
  EXPECT_EQ(adapt.data.spec_augment.time_masks, 0);
  EXPECT_EQ(adapt.trainer.max_steps, 1000);

  const auto full = load_experiment_config((dir / "full_finetune.yaml").string());
  EXPECT_EQ(full.model.train_mode, "full");
  EXPECT_TRUE(full.adapters.empty());
  EXPECT_EQ(full.optim.sched.name, "NoamAnnealing");
  EXPECT_DOUBLE_EQ(full.optim.lr, 2.0);
  EXPECT_DOUBLE_EQ(full.optim.beta1, 0.9);
  EXPECT_DOUBLE_EQ(full.optim.beta2, 0.98);
  EXPECT_DOUBLE_EQ(full.optim.weight_decay, 1e-3);
  EXPECT_EQ(full.optim.sched.warmup_steps, 10000);
  EXPECT_FALSE(full.optim.sched.d_model.has_value());

  const auto mha = load_experiment_config((dir / "mha_adapter.yaml").string());
  ASSERT_EQ(mha.adapters.size(), 1u);
  EXPECT_EQ(mha.adapters[0].config.type, models::AdapterType::RelPositionMHA);
  EXPECT_EQ(mha.adapters[0].config.n_head, 1);
  EXPECT_EQ(mha.adapters[0].config.proj_dim, -1);
}

TEST(ExperimentConfig, MinimalConfigTakesTheDefaults) {
  const ExperimentConfig c = parse_experiment_config(kMinimal, "exp.yaml");
  EXPECT_EQ(c.name, "experiment");
  EXPECT_EQ(c.run_dir, "runs/experiment");
  EXPECT_EQ(c.source, "exp.yaml");
  EXPECT_EQ(c.model.path, "m.nemo");
  EXPECT_EQ(c.model.train_mode, "adapters");
  ASSERT_EQ(c.adapters.size(), 1u);
  const models::AdapterSpec& a = c.adapters[0];
  const models::AdapterConfig d;
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.module, "encoder");
  EXPECT_TRUE(a.layers.empty());
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.config.type, d.type);
  EXPECT_EQ(a.config.dim, d.dim);
  EXPECT_EQ(a.config.activation, d.activation);
  EXPECT_EQ(a.config.norm_position, d.norm_position);
  EXPECT_EQ(a.config.proj_dim, d.proj_dim);
  EXPECT_EQ(c.data.train.shards, std::vector<std::string>{"tr"});
  EXPECT_EQ(c.data.train.batch_size, 16);
  EXPECT_TRUE(c.data.validation.empty());
  EXPECT_EQ(c.optim.name, "adamw");
  EXPECT_EQ(c.optim.sched.name, "CosineAnnealing");
  EXPECT_EQ(c.trainer.max_steps, 100);
  EXPECT_FALSE(c.trainer.max_epochs.has_value());
  EXPECT_EQ(c.checkpoint.keep_last, 2);

  EXPECT_TRUE(parse_experiment_config(to_yaml(c), "resolved.yaml") == c) << to_yaml(c);

  const ExperimentConfig named = parse_experiment_config(std::string("name: x1\n") + kMinimal, "e");
  EXPECT_EQ(named.run_dir, "runs/x1");
}

TEST(ExperimentConfig, KeysOfTheOtherAdapterTypeAreCheckedAndKept) {
  // A rel_pos_mha adapter ignores dim/activation/norm_position but they still read and round-trip.
  const ExperimentConfig c = parse_experiment_config(
      with_adapter_keys("    type: rel_pos_mha\n    dim: 8\n    proj_dim: null\n"), "exp.yaml");
  EXPECT_EQ(c.adapters[0].config.type, models::AdapterType::RelPositionMHA);
  EXPECT_EQ(c.adapters[0].config.dim, 8);
  EXPECT_FALSE(c.adapters[0].config.proj_dim.has_value());
  EXPECT_TRUE(parse_experiment_config(to_yaml(c), "resolved.yaml") == c);
  EXPECT_EQ(error_of(with_adapter_keys("    type: rel_pos_mha\n    dim: -2\n")),
            "exp.yaml:6: adapters.0.dim: must be >= 1 (got -2)");
}

TEST(ExperimentConfig, RoundTripKeepsAwkwardValues) {
  ExperimentConfig c = parse_experiment_config(kMinimal, "exp.yaml");
  c.name = "null";  // a string that plain YAML would read as null
  c.run_dir = "out dir/with: colon";
  c.optim.lr = 0.1 + 0.2;  // needs 17 digits
  c.optim.sched.d_model = 256.0;
  c.optim.sched.name = "NoamAnnealing";
  c.trainer.max_epochs = 3;
  c.adapters[0].config.proj_dim = 0;
  c.adapters[0].layers = {0, 5};
  c.data.validation.push_back({});
  c.data.validation[0].name = "dev";
  c.data.validation[0].shards = {"d1", "d2"};
  c.data.validation[0].shuffle = false;
  c.seed = 18446744073709551615ull;
  const ExperimentConfig back = parse_experiment_config(to_yaml(c), "resolved.yaml");
  EXPECT_TRUE(back == c) << to_yaml(c);
  c.optim.lr = 0.3;
  EXPECT_FALSE(back == c);
}

TEST(ExperimentConfig, UnknownKeySuggestsTheClosestKey) {
  const std::string text = std::string(kMinimal) +
                           "optim:\n"                 // 10
                           "  sched:\n"               // 11
                           "    warmup_stps: 5\n";    // 12
  EXPECT_EQ(error_of(text),
            "exp.yaml:12: optim.sched.warmup_stps: unknown key (did you mean 'warmup_steps'?)");
  EXPECT_EQ(error_of(std::string(kMinimal) + "optm:\n  lr: 1\n"),
            "exp.yaml:10: optm: unknown key (did you mean 'optim'?)");
  // Nothing close: no suggestion.
  EXPECT_EQ(error_of(std::string(kMinimal) + "banana: 1\n"), "exp.yaml:10: banana: unknown key");
  EXPECT_EQ(error_of("model:\n  path: m\n  pth: x\n"),
            "exp.yaml:3: model.pth: unknown key (did you mean 'path'?)");
  EXPECT_EQ(error_of(with_adapter_keys("    dimm: 8\n")),
            "exp.yaml:5: adapters.0.dimm: unknown key (did you mean 'dim'?)");
}

TEST(ExperimentConfig, WrongTypesNameLineAndKey) {
  EXPECT_EQ(error_of(std::string(kMinimal) + "optim:\n  lr: fast\n"),
            "exp.yaml:11: optim.lr: expected a finite number, got 'fast'");
  EXPECT_EQ(error_of(std::string(kMinimal) + "seed: -3\n"),
            "exp.yaml:10: seed: expected a non-negative integer, got '-3'");
  EXPECT_EQ(error_of(std::string(kMinimal) + "checkpoint:\n  keep_last: 1.5\n"),
            "exp.yaml:11: checkpoint.keep_last: expected an integer, got '1.5'");
  EXPECT_EQ(error_of(std::string(kMinimal) + "logging:\n  json: maybe\n"),
            "exp.yaml:11: logging.json: expected true or false, got 'maybe'");
  EXPECT_EQ(error_of(std::string(kMinimal) + "optim: 3\n"),
            "exp.yaml:10: optim: expected a mapping, got '3'");
  EXPECT_EQ(error_of("model:\n  path: [a, b]\n"), "exp.yaml:2: model.path: expected a string, got a list");
  EXPECT_EQ(error_of(with_adapter_keys("    layers: [1, x]\n")),
            "exp.yaml:5: adapters.0.layers.1: expected an integer, got 'x'");
  EXPECT_EQ(error_of("model:\n  path: m\nadapters: {name: a}\n"), "exp.yaml:3: adapters: expected a list, got a mapping");
  EXPECT_EQ(error_of(std::string(kMinimal) + "optim:\n  lr: .nan\n"), "exp.yaml:11: optim.lr: expected a finite number, got '.nan'");
}

TEST(ExperimentConfig, BadEnumValuesListTheChoices) {
  EXPECT_EQ(error_of(std::string(kMinimal) + "optim:\n  name: adam\n"),
            "exp.yaml:11: optim.name: bad value 'adam' (expected one of: adamw, sgd); did you mean "
            "'adamw'?");
  EXPECT_EQ(error_of(with_adapter_keys("    type: lstm\n")),
            "exp.yaml:5: adapters.0.type: bad value 'lstm' (expected one of: linear, rel_pos_mha)");
  EXPECT_EQ(error_of(std::string(kMinimal) + "trainer:\n  precision: fp16\n"),
            "exp.yaml:10: trainer: duplicate key");
  EXPECT_EQ(error_of(std::string(kMinimal) + "  precision: fp16\n"),
            "exp.yaml:10: trainer.precision: bad value 'fp16' (expected one of: fp32, bf16)");
  EXPECT_EQ(error_of(std::string(kMinimal) + "loss:\n  reduction: average\n"),
            "exp.yaml:11: loss.reduction: bad value 'average' (expected one of: mean_batch, "
            "mean_volume, mean, sum, or empty for the model's own)");
}

TEST(ExperimentConfig, OutOfRangeValuesAreErrors) {
  const std::string m = kMinimal;
  EXPECT_EQ(error_of(m + "optim:\n  lr: -0.1\n"), "exp.yaml:11: optim.lr: must be > 0 (got -0.1)");
  EXPECT_EQ(error_of(with_adapter_keys("    dim: 0\n")),
            "exp.yaml:5: adapters.0.dim: must be >= 1 (got 0)");
  EXPECT_EQ(error_of(with_adapter_keys("    dropout: 1.0\n")),
            "exp.yaml:5: adapters.0.dropout: must be in [0, 1) (got 1)");
  EXPECT_EQ(error_of(with_adapter_keys("    stochastic_depth: -0.5\n")),
            "exp.yaml:5: adapters.0.stochastic_depth: must be in [0, 1) (got -0.5)");
  EXPECT_EQ(error_of(m + "checkpoint:\n  keep_last: 0\n"),
            "exp.yaml:11: checkpoint.keep_last: must be >= 1 (got 0)");
  EXPECT_EQ(error_of(m + "  accumulate_grad_batches: 0\n"),
            "exp.yaml:10: trainer.accumulate_grad_batches: must be >= 1 (got 0)");
  EXPECT_EQ(error_of(m + "optim:\n  betas: [0.9]\n"),
            "exp.yaml:11: optim.betas: expected a list of 2 numbers [beta1, beta2], got 1");
  EXPECT_EQ(error_of(m + "optim:\n  betas: [0.9, 1.5]\n"),
            "exp.yaml:11: optim.betas.1: must be in [0, 1) (got 1.5)");
  EXPECT_EQ(error_of(m + "optim:\n  sched:\n    warmup_steps: 5\n    warmup_ratio: 0.1\n"),
            "exp.yaml:13: optim.sched.warmup_ratio: give either warmup_steps or warmup_ratio, not both");
  EXPECT_EQ(error_of("model:\n  path: m\nadapters:\n  - name: a\ndata:\n  train:\n    shards: [a]\n"
                     "    batch_size: 0\n"),
            "exp.yaml:8: data.train.batch_size: one of batch_size / batch_duration must be > 0 "
            "(both are 0)");
  EXPECT_EQ(error_of(with_adapter_keys("    type: rel_pos_mha\n    module: decoder\n")),
            "exp.yaml:6: adapters.0.module: a rel_pos_mha adapter goes on the encoder only "
            "(module: encoder)");
  EXPECT_EQ(error_of("model:\n  path: m\nadapters:\n  - name: a.b\n"),
            "exp.yaml:4: adapters.0.name: 'a.b' is not a valid adapter name (non-empty, no '.' or ':')");
  EXPECT_EQ(error_of(m + "  precision: bf16\n"),
            "exp.yaml:10: trainer.precision: bf16 needs device: cuda");
}

TEST(ExperimentConfig, MissingRequiredKeysAreErrors) {
  EXPECT_EQ(error_of("name: x\nadapters:\n  - name: a\n"),
            "exp.yaml:1: model.path: missing required key");
  EXPECT_EQ(error_of("model:\n  path: m\nadapters:\n  - name: a\ndata:\n  train:\n    batch_size: 4\n"),
            "exp.yaml:6: data.train.shards: missing required key");
  EXPECT_EQ(error_of("model:\n  path: m\n  train_mode: adapters\ndata:\n  train:\n    shards: [a]\n"
                     "trainer:\n  max_steps: 10\n"),
            "exp.yaml:3: adapters: missing required key: model.train_mode adapters needs at least one "
            "adapter");
  EXPECT_EQ(error_of("model:\n  path: m\nadapters:\n  - name: a\ndata:\n  train:\n    shards: [a]\n"
                     "trainer:\n  max_epochs: null\n"),
            "exp.yaml:8: trainer.max_steps: missing required key: set trainer.max_steps or "
            "trainer.max_epochs");
  EXPECT_EQ(error_of("model:\n  path: m\nadapters:\n  - dim: 4\n"),
            "exp.yaml:4: adapters.0.name: missing required key");
  EXPECT_EQ(error_of("model:\n  path: m\nadapters:\n  - name: a\n    enabled: false\ndata:\n  train:\n"
                     "    shards: [a]\ntrainer:\n  max_steps: 1\n"),
            "exp.yaml:3: adapters: every adapter is disabled: nothing would train");
  // Full training needs no adapters.
  EXPECT_NO_THROW(parse_experiment_config(
      "model:\n  path: m\n  train_mode: full\ndata:\n  train:\n    shards: [a]\ntrainer:\n  max_epochs: 2\n",
      "exp.yaml"));
}

TEST(ExperimentConfig, DuplicateNamesAreErrors) {
  EXPECT_EQ(error_of("model:\n  path: m\nadapters:\n  - name: a\n  - name: b\n  - name: a\n"),
            "exp.yaml:6: adapters.2.name: duplicate adapter name 'a' (also adapters.0)");
  EXPECT_EQ(error_of("model:\n  path: m\nadapters:\n  - name: a\n"
                     "data:\n  train:\n    shards: [t]\n  validation:\n    - name: dev\n      shards: [d]\n"
                     "    - name: dev\n      shards: [e]\n"),
            "exp.yaml:11: data.validation.1.name: duplicate validation set name 'dev' (also "
            "data.validation.0)");
  EXPECT_EQ(error_of("model:\n  path: a\n  path: b\n"), "exp.yaml:3: model.path: duplicate key");
}

TEST(ExperimentConfig, SyntaxErrorsAndFilesNameTheirSource) {
  EXPECT_EQ(error_of("model:\n  path: [a\n").rfind("exp.yaml:", 0), 0u);
  EXPECT_NE(error_of("model:\n  path: [a\n").find("YAML syntax error"), std::string::npos);
  EXPECT_EQ(error_of("- a\n- b\n"), "exp.yaml:1: the top level must be a mapping");
  EXPECT_ASR_ERROR(load_experiment_config("/nonexistent/exp.yaml"),
                   "/nonexistent/exp.yaml: cannot open experiment config");

  const std::string path = test::temp_path("exp.yaml");
  {
    std::ofstream out(path);
    out << kMinimal << "optim:\n  lr: -1\n";
  }
  EXPECT_ASR_ERROR(load_experiment_config(path), path + ":11: optim.lr: must be > 0 (got -1)");
  EXPECT_EQ(load_experiment_config(path, {"optim.lr=0.5"}).optim.lr, 0.5);
  fs::remove(path);
}

TEST(ExperimentConfig, OverridesSetScalarsListsAndListEntries) {
  const std::string merged =
      "model:\n  path: m.nemo\nadapters:\n  - name: a\n  - name: b\ndata:\n  train:\n    shards: [tr]\n"
      "  validation:\n    - name: dev\n      shards: [d]\n    - name: test\n      shards: [t]\n"
      "trainer:\n  max_steps: 100\n  max_epochs: 5\n";
  const ExperimentConfig c = parse_experiment_config(
      merged, "exp.yaml",
      {"optim.lr=3e-4", "adapters.1.dim=64", "adapters.0.layers=[0, 2]", "data.train.shards=[x,y]",
       "data.validation.1.name=eval", "trainer.max_epochs=null", "optim.sched.name=NoamAnnealing",
       "optim.sched.d_model=176", "name=run7", "data.spec_augment.time_masks=2"});
  EXPECT_DOUBLE_EQ(c.optim.lr, 3e-4);
  EXPECT_EQ(c.adapters[0].config.dim, 32);
  EXPECT_EQ(c.adapters[1].config.dim, 64);
  EXPECT_EQ(c.adapters[0].layers, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(c.data.train.shards, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(c.data.validation[0].name, "dev");
  EXPECT_EQ(c.data.validation[1].name, "eval");
  EXPECT_FALSE(c.trainer.max_epochs.has_value());
  EXPECT_EQ(c.trainer.max_steps, 100);
  EXPECT_EQ(c.optim.sched.d_model, 176.0);
  EXPECT_EQ(c.run_dir, "runs/run7");
  EXPECT_EQ(c.data.spec_augment.time_masks, 2);
  // Replacing a whole list of mappings.
  const ExperimentConfig r =
      parse_experiment_config(merged, "exp.yaml", {"adapters=[{name: z, type: rel_pos_mha, n_head: 2}]"});
  ASSERT_EQ(r.adapters.size(), 1u);
  EXPECT_EQ(r.adapters[0].name, "z");
  EXPECT_EQ(r.adapters[0].config.n_head, 2);
  // An override on an empty document builds every section.
  const ExperimentConfig e = parse_experiment_config(
      "", "empty.yaml",
      {"model.path=m", "model.train_mode=full", "data.train.shards=[a]", "trainer.max_steps=1"});
  EXPECT_EQ(e.model.path, "m");
}

TEST(ExperimentConfig, BadOverridesNameTheOverride) {
  EXPECT_EQ(error_of(kMinimal, {"optim.sched.warmup_stps=5"}),
            "exp.yaml: override 'optim.sched.warmup_stps=5': optim.sched.warmup_stps: unknown key "
            "(did you mean 'warmup_steps'?)");
  EXPECT_EQ(error_of(kMinimal, {"optm.lr=1"}),
            "exp.yaml: override 'optm.lr=1': optm: unknown key (did you mean 'optim'?)");
  EXPECT_EQ(error_of(kMinimal, {"optim.lr=-1"}),
            "exp.yaml: override 'optim.lr=-1': optim.lr: must be > 0 (got -1)");
  EXPECT_EQ(error_of(kMinimal, {"adapters.0.dim=big"}),
            "exp.yaml: override 'adapters.0.dim=big': adapters.0.dim: expected an integer, got 'big'");
  EXPECT_EQ(error_of(kMinimal, {"adapters.1.dim=8"}),
            "exp.yaml: override 'adapters.1.dim=8': adapters.1: index out of range (adapters has 1 "
            "entries; an override cannot append)");
  EXPECT_EQ(error_of(kMinimal, {"data.validation.0.name=x"}),
            "exp.yaml: override 'data.validation.0.name=x': data.validation.0: index out of range "
            "(data.validation has no entries; an override cannot append)");
  EXPECT_EQ(error_of(kMinimal, {"adapters.first.dim=8"}),
            "exp.yaml: override 'adapters.first.dim=8': adapters is a list: 'first' is not an index");
  EXPECT_EQ(error_of(kMinimal, {"optim.lr"}), "exp.yaml: override 'optim.lr': expected KEY.PATH=VALUE");
  EXPECT_EQ(error_of(kMinimal, {"optim..lr=1"}), "exp.yaml: override 'optim..lr=1': empty key in 'optim..lr'");
  EXPECT_EQ(error_of(kMinimal, {"model.path.x=1"}),
            "exp.yaml: override 'model.path.x=1': model.path holds 'm.nemo', not a mapping or list: "
            "cannot set 'x' in it");
  EXPECT_NE(error_of(kMinimal, {"optim.betas=[0.9"}).find("override 'optim.betas=[0.9': value is not valid YAML"),
            std::string::npos);
  // Removing the only step limit is the missing-key error, located at the override.
  EXPECT_EQ(error_of(kMinimal, {"trainer.max_steps=null"}),
            "exp.yaml: override 'trainer.max_steps=null': trainer.max_steps: missing required key: "
            "set trainer.max_steps or trainer.max_epochs");
  // Entries an override replaced are located at it, the others keep their file lines.
  EXPECT_EQ(error_of(kMinimal, {"adapters=[{name: a}, {name: a}]"}),
            "exp.yaml: override 'adapters=[{name: a}, {name: a}]': adapters.1.name: duplicate "
            "adapter name 'a' (also adapters.0)");
}

// Fuzzing found that a byte that is not UTF-8 was read as it is but written back by to_yaml as
// U+FFFD, so the saved config named another file. Such text is refused, naming the line.
TEST(ExperimentConfig, TextThatIsNotUtf8IsRefusedNamingTheLine) {
  EXPECT_EQ(error_of(std::string(kMinimal).replace(15, 1, "\xeb")),
            "exp.yaml:2: not valid UTF-8 (byte 0xeb at offset 15); YAML text must be UTF-8");
  EXPECT_NE(error_of(kMinimal, {"model.path=caf\xc3"}).find("exp.yaml: override 1:1: not valid UTF-8"), std::string::npos);
  // Overlong forms and surrogates are not UTF-8 either; real multi-byte text is fine.
  EXPECT_NE(error_of(std::string(kMinimal).replace(15, 1, "\xc0\xae")).find("byte 0xc0"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal).replace(15, 1, "\xed\xa0\x80")).find("byte 0xed"), std::string::npos);
  EXPECT_EQ(parse_experiment_config(std::string(kMinimal).replace(15, 1, "\xc3\xa9\xf0\x9f\x98\x80"), "e").model.path,
            "\xc3\xa9\xf0\x9f\x98\x80.nemo");
}

}  // namespace
}  // namespace asr::train
