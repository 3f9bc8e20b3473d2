// `asr-adapt demo`: trains a tiny conv + MLP CTC model from scratch on generated label
// sequences and shows the loss falling and the greedy label error rate dropping. It exercises the
// core end to end (conv1d, layer_norm, linear, dropout, log_softmax, CTC, autograd, SGD) until
// the real adapter workflow lands.
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "asr/autograd/node.h"
#include "asr/nn/module.h"
#include "asr/ops/ops.h"
#include "asr/text/ctc_decoding.h"
#include "commands.h"

namespace asr::cli {
namespace {

struct DemoConfig {
  uint64_t seed = 1234;
  int64_t steps = 300, batch_size = 16, vocab = 6, max_label_len = 6, frames_per_label = 4;
  int64_t feature_dim = 24, hidden = 64, log_every = 25;
  double dropout = 0.1, lr = 0.5;
};

template <typename T>
void read_key(const YAML::Node& root, const std::string& file, const char* key, T& out) {
  if (!root[key]) return;
  try {
    out = root[key].as<T>();
  } catch (const YAML::Exception& e) {
    throw Error(str_cat(file, ":", root[key].Mark().line + 1, ": key '", key,
                        "' has the wrong type (", e.msg, ")"));
  }
}

DemoConfig load_config(const std::string& path) {
  DemoConfig c;
  if (path.empty()) return c;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw Error(str_cat(path, ": cannot open config file"));
  } catch (const YAML::ParserException& e) {
    throw Error(str_cat(path, ":", e.mark.line + 1, ": YAML syntax error: ", e.msg));
  }
  if (!root.IsMap() && !root.IsNull()) throw Error(str_cat(path, ": top level must be a mapping"));
  static const char* known[] = {"seed", "steps", "batch_size", "vocab", "max_label_len",
                                "frames_per_label", "feature_dim", "hidden", "dropout", "lr",
                                "log_every"};
  for (const auto& kv : root) {
    std::string k = kv.first.as<std::string>();
    if (std::find(std::begin(known), std::end(known), k) == std::end(known))
      throw Error(str_cat(path, ":", kv.first.Mark().line + 1, ": unknown key '", k, "'"));
  }
  read_key(root, path, "seed", c.seed);
  read_key(root, path, "steps", c.steps);
  read_key(root, path, "batch_size", c.batch_size);
  read_key(root, path, "vocab", c.vocab);
  read_key(root, path, "max_label_len", c.max_label_len);
  read_key(root, path, "frames_per_label", c.frames_per_label);
  read_key(root, path, "feature_dim", c.feature_dim);
  read_key(root, path, "hidden", c.hidden);
  read_key(root, path, "dropout", c.dropout);
  read_key(root, path, "lr", c.lr);
  read_key(root, path, "log_every", c.log_every);
  return c;
}

// A batch of generated utterances: each label is held for a few frames, with optional blank
// frames between labels; per-frame features are a fixed random embedding of the class plus noise.
struct Batch {
  Tensor features;        // [B, F, T]
  Tensor targets;         // [B, S] I64
  Tensor input_lengths;   // [B] I64
  Tensor target_lengths;  // [B] I64
  std::vector<std::vector<int64_t>> labels;
};

class SequenceTask {
 public:
  SequenceTask(const DemoConfig& c, Generator& gen)
      : c_(c), embed_(Tensor::randn({c.vocab + 1, c.feature_dim}, gen).to_vector()) {}

  Batch sample(Generator& gen) const {
    const int64_t B = c_.batch_size, F = c_.feature_dim;
    std::vector<std::vector<int64_t>> frames(B), labels(B);
    auto draw = [&](int64_t lo, int64_t hi) {  // uniform integer in [lo, hi]
      return lo + static_cast<int64_t>(Generator::uniform(gen.seed(), gen.reserve(1)) * (hi - lo + 1));
    };
    int64_t T = 0, S = 0;
    for (int64_t b = 0; b < B; ++b) {
      int64_t len = draw(2, c_.max_label_len);
      for (int64_t i = 0; i < len; ++i) {
        int64_t lab = draw(0, c_.vocab - 1);
        labels[b].push_back(lab);
        int64_t blanks = draw(0, 1);
        for (int64_t k = 0; k < blanks; ++k) frames[b].push_back(c_.vocab);
        for (int64_t k = draw(2, c_.frames_per_label); k > 0; --k) frames[b].push_back(lab);
      }
      frames[b].push_back(c_.vocab);
      T = std::max<int64_t>(T, static_cast<int64_t>(frames[b].size()));
      S = std::max<int64_t>(S, len);
    }
    std::vector<double> feats(static_cast<size_t>(B * F * T), 0.0), tg(static_cast<size_t>(B * S), 0.0);
    std::vector<double> il(B), tl(B);
    uint64_t noise = gen.reserve(static_cast<uint64_t>(B * F * T));
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < static_cast<int64_t>(frames[b].size()); ++t)
        for (int64_t f = 0; f < F; ++f)
          feats[(b * F + f) * T + t] = embed_[frames[b][t] * F + f] +
                                       0.7 * Generator::normal(gen.seed(), noise + (b * F + f) * T + t);
      for (size_t i = 0; i < labels[b].size(); ++i) tg[b * S + i] = static_cast<double>(labels[b][i]);
      il[b] = static_cast<double>(frames[b].size());
      tl[b] = static_cast<double>(labels[b].size());
    }
    return {Tensor::from_vector(feats, {B, F, T}), Tensor::from_vector(tg, {B, S}, DType::I64),
            Tensor::from_vector(il, {B}, DType::I64), Tensor::from_vector(tl, {B}, DType::I64), labels};
  }

 private:
  DemoConfig c_;
  std::vector<double> embed_;
};

// conv1d(k=5) -> layer_norm -> relu -> dropout -> linear -> log_softmax, per frame.
class TinyCtcModel : public nn::Module {
 public:
  TinyCtcModel(const DemoConfig& c, Generator& gen) : c_(c) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(c.feature_dim * 5));
    conv_w_ = register_parameter("conv.weight", Tensor::rand({c.hidden, c.feature_dim, 5}, gen, -bound, bound));
    conv_b_ = register_parameter("conv.bias", Tensor::zeros({c.hidden}));
    ln_w_ = register_parameter("norm.weight", Tensor::ones({c.hidden}));
    ln_b_ = register_parameter("norm.bias", Tensor::zeros({c.hidden}));
    out_ = register_module("out", std::make_shared<nn::Linear>(c.hidden, c.vocab + 1, true, gen));
  }
  Tensor forward(const Tensor& feats, Generator& gen) const {  // feats [B, F, T] -> [B, T, V+1]
    Tensor h = ops::conv1d(feats, conv_w_, conv_b_, 1, 2, 1).transpose(1, 2);
    h = ops::relu(ops::layer_norm(h, ln_w_, ln_b_));
    h = ops::dropout(h, c_.dropout, is_training(), gen);
    return ops::log_softmax(out_->forward(h), -1);
  }

 private:
  DemoConfig c_;
  Tensor conv_w_, conv_b_, ln_w_, ln_b_;
  std::shared_ptr<nn::Linear> out_;
};

// Greedy CTC decoding -> label error rate (edit distance / reference labels).
double label_error_rate(const Tensor& log_probs, const Batch& batch, int64_t blank) {
  std::vector<std::vector<int64_t>> hyps = text::ctc_greedy_decode(log_probs, batch.input_lengths, blank);
  int64_t errors = 0, total = 0;
  for (size_t b = 0; b < hyps.size(); ++b) {
    errors += text::edit_distance(hyps[b], batch.labels[b]);
    total += static_cast<int64_t>(batch.labels[b].size());
  }
  return static_cast<double>(errors) / static_cast<double>(std::max<int64_t>(total, 1));
}

int run_demo(const std::string& config_path, int64_t steps_flag, int64_t seed_flag,
             const std::string& metrics_path) {
  DemoConfig c = load_config(config_path);
  if (steps_flag > 0) c.steps = steps_flag;
  if (seed_flag >= 0) c.seed = static_cast<uint64_t>(seed_flag);
  ASR_CHECK(c.vocab >= 1 && c.batch_size >= 1 && c.steps >= 1 && c.max_label_len >= 2 &&
                c.frames_per_label >= 2 && c.lr > 0,
            config_path.empty() ? "demo" : config_path.c_str(), "invalid demo settings");
  std::ofstream metrics;
  if (!metrics_path.empty()) {
    metrics.open(metrics_path);
    ASR_CHECK(metrics.good(), "demo", "cannot write metrics file ", metrics_path);
  }

  Generator gen(c.seed);
  SequenceTask task(c, gen);
  TinyCtcModel model(c, gen);
  Batch heldout = task.sample(gen);
  const int64_t blank = c.vocab;
  spdlog::info("demo: tiny CTC model, {} parameters, {} labels + blank, {} steps of batch {}",
               model.num_parameters(), c.vocab, c.steps, c.batch_size);

  auto evaluate = [&]() {
    autograd::NoGradGuard ng;
    model.train(false);
    Tensor lp = model.forward(heldout.features, gen);
    double loss = ops::ctc_loss(lp, heldout.targets, heldout.input_lengths, heldout.target_lengths,
                                blank, ops::CtcReduction::MeanVolume, true).item();
    model.train(true);
    return std::make_pair(loss, label_error_rate(lp, heldout, blank));
  };
  auto [loss0, ler0] = evaluate();
  spdlog::info("before training: held-out loss {:.4f}, label error rate {:.1f}%", loss0, 100 * ler0);

  // SGD with momentum 0.9; velocity buffers only for trainable parameters.
  std::vector<Tensor> params = model.trainable_parameters();
  std::vector<Tensor> velocity;
  for (const Tensor& p : params) velocity.push_back(Tensor::zeros(p.shape()));
  auto t_start = std::chrono::steady_clock::now();
  for (int64_t step = 1; step <= c.steps; ++step) {
    Batch batch = task.sample(gen);
    model.zero_grad();
    Tensor lp = model.forward(batch.features, gen);
    Tensor loss = ops::ctc_loss(lp, batch.targets, batch.input_lengths, batch.target_lengths, blank,
                                ops::CtcReduction::MeanVolume, true);
    loss.backward();
    {
      autograd::NoGradGuard ng;
      for (size_t i = 0; i < params.size(); ++i) {
        Tensor g = params[i].grad();
        if (!g.defined()) continue;
        velocity[i].copy_(ops::add(ops::scale(velocity[i], 0.9), g));
        params[i].copy_(ops::sub(params[i], ops::scale(velocity[i], c.lr)));
      }
    }
    double l = loss.item();
    if (!std::isfinite(l)) throw Error(str_cat("demo: non-finite loss at step ", step));
    if (metrics.is_open()) metrics << nlohmann::json{{"step", step}, {"train_loss", l}}.dump() << "\n";
    if (step % c.log_every == 0 || step == c.steps) spdlog::info("step {:4d}  train loss {:.4f}", step, l);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  auto [loss1, ler1] = evaluate();
  spdlog::info("after training: held-out loss {:.4f} (was {:.4f}), label error rate {:.1f}% (was {:.1f}%), {:.2f} s, {:.1f} steps/s",
               loss1, loss0, 100 * ler1, 100 * ler0, secs, c.steps / secs);
  if (metrics.is_open())
    metrics << nlohmann::json{{"heldout_loss_before", loss0}, {"heldout_loss_after", loss1},
                              {"ler_before", ler0}, {"ler_after", ler1}}.dump() << "\n";
  if (!(loss1 < 0.5 * loss0)) {
    spdlog::error("demo: the held-out loss did not halve ({:.4f} -> {:.4f})", loss0, loss1);
    return kFailure;
  }
  return kOk;
}

}  // namespace

CommandRunner add_demo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "Train a tiny CTC model on generated data (core self-test)");
  auto config = std::make_shared<std::string>();
  auto steps = std::make_shared<int64_t>(0);
  auto seed = std::make_shared<int64_t>(-1);
  auto metrics = std::make_shared<std::string>();
  cmd->add_option("--config", *config, "YAML file with demo settings (see configs/demo.yaml)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--steps", *steps, "Optimisation steps (overrides the config)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", *seed, "Random seed (overrides the config)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--metrics", *metrics, "Write per-step metrics as JSON lines to this file");
  return [=] { return run_demo(*config, *steps, *seed, *metrics); };
}

}  // namespace asr::cli
