// Builds a training run's pieces from its ExperimentConfig (run_setup.h).
#include "run_setup.h"

#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>

#include "asr/autograd/node.h"
#include "asr/data/shard_format.h"
#include "asr/models/adapter_file.h"

namespace asr::train::detail {
namespace {

Tensor buffer_or_empty(const io::ModelFile& mf, const char* key) {
  auto it = mf.weights.find(key);
  return it == mf.weights.end() ? Tensor() : it->second;
}

}  // namespace

uint64_t rank_stream(uint64_t seed, uint64_t stream, int rank) {
  const uint64_t s = Generator::hash(seed, stream);
  return rank == 0 ? s : Generator::hash(s, static_cast<uint64_t>(rank));
}

RunModel build_model(const ExperimentConfig& config, int rank, Device device) {
  RunModel run;
  run.file = io::load_model_file(config.model.path);
  run.tokenizer = std::make_unique<text::Tokenizer>(
      text::Tokenizer::from_sentencepiece(run.file.tokenizer_model, config.model.path));
  run.model = models::load_ctc_model(run.file);
  models::ConformerCtcModel& m = *run.model;
  if (run.tokenizer->vocab_size() != m.blank())
    throw Error(str_cat(config.model.path, ": the tokenizer has ", run.tokenizer->vocab_size(),
                        " pieces but the model has ", m.blank(), " outputs before the blank"));
  run.base_fingerprint = models::base_model_fingerprint(run.file.weights);
  const audio::FeatureExtractor fx(run.file.config.preprocessor,
                                   buffer_or_empty(run.file, "preprocessor.featurizer.fb"),
                                   buffer_or_empty(run.file, "preprocessor.featurizer.window"));
  run.preprocessor_fingerprint = data::preprocessor_fingerprint(fx.config(), fx.filterbank(), fx.window());
  run.tokenizer_fingerprint = data::tokenizer_fingerprint(run.file.tokenizer_model);

  // Seeds: adapter init and dropout draw from streams of config.seed, so a run is reproducible
  // and a different seed gives a different run.
  m.adapter_init_generator().set_state(Generator::hash(config.seed, 0xada), 0);
  m.dropout_generator().set_state(rank_stream(config.seed, 0xd0, rank), 0);
  for (const models::AdapterSpec& spec : config.adapters) {
    try {
      m.add_adapter(spec);
    } catch (const Error& e) {
      throw Error(str_cat(config.source, ": adapters: ", e.what()));
    }
  }
  m.train(true);
  if (!device.is_cpu()) m.to_device(device);
  if (config.model.train_mode == "full") {
    m.prepare_full_training();
  } else {
    if (m.enabled_adapters().empty())
      throw Error(str_cat(config.source, ": train_mode adapters needs at least one enabled adapter"));
    m.freeze_base_for_adapters();
    m.set_adapter_training_mode();
    if (config.trainer.precision == "bf16") run.converted_weights = m.convert_frozen_linear_weights(DType::BF16);
  }
  // The end-of-run check compares the frozen weights with these: the file's when the model uses
  // them in place, else the copies on the device / in bf16.
  run.placed_fingerprint = device.is_cpu() && run.converted_weights == 0 ? run.base_fingerprint
                                                                         : models::base_model_fingerprint(m);
  return run;
}

void restore_training_mode(const ExperimentConfig& config, models::ConformerCtcModel& model) {
  if (config.model.train_mode == "full")
    model.train(true);
  else
    model.set_adapter_training_mode();
}

std::unique_ptr<Optimizer> build_optimizer(const OptimSection& o) {
  if (o.name == "adamw") {
    AdamWConfig c;
    c.lr = o.lr;
    c.beta1 = o.beta1;
    c.beta2 = o.beta2;
    c.eps = o.eps;
    c.weight_decay = o.weight_decay;
    return std::make_unique<AdamW>(c);
  }
  if (o.name == "sgd") {
    SGDConfig c;
    c.lr = o.lr;
    c.momentum = o.momentum;
    c.weight_decay = o.weight_decay;
    c.nesterov = o.nesterov;
    return std::make_unique<SGD>(c);
  }
  throw Error(str_cat("optim.name: unknown optimizer '", o.name, "' (adamw | sgd)"));
}

std::shared_ptr<const LrSchedule> build_schedule(const OptimSection& o, int64_t total_steps, int64_t d_model) {
  const SchedSection& s = o.sched;
  if (s.name == "CosineAnnealing") {
    CosineConfig c;
    c.lr = o.lr;
    c.max_steps = total_steps;
    c.warmup_steps = s.warmup_steps;
    c.warmup_ratio = s.warmup_ratio;
    c.constant_steps = s.constant_steps;
    c.constant_ratio = s.constant_ratio;
    c.min_lr = s.min_lr;
    return std::make_shared<CosineAnnealing>(c);
  }
  if (s.name == "NoamAnnealing") {
    NoamConfig c;
    c.lr = o.lr;
    c.d_model = s.d_model ? *s.d_model : static_cast<double>(d_model);
    c.warmup_steps = s.warmup_steps;
    c.warmup_ratio = s.warmup_ratio;
    c.max_steps = total_steps;
    c.min_lr = s.min_lr;
    return std::make_shared<NoamAnnealing>(c);
  }
  if (s.name == "constant") {
    ConstantConfig c;
    c.lr = o.lr;
    c.warmup_steps = s.warmup_steps;
    c.warmup_ratio = s.warmup_ratio;
    c.max_steps = total_steps;
    c.min_lr = s.min_lr;
    return std::make_shared<ConstantLr>(c);
  }
  throw Error(str_cat("optim.sched.name: unknown schedule '", s.name,
                      "' (CosineAnnealing | NoamAnnealing | constant)"));
}

data::LoaderConfig train_loader_config(const ExperimentConfig& config, const RunModel& run) {
  const ShardSetConfig& t = config.data.train;
  data::LoaderConfig lc;
  lc.shard_dirs = t.shards;
  lc.batch_size = t.batch_size;
  lc.batch_duration = t.batch_duration;
  lc.num_buckets = t.num_buckets;
  lc.shuffle = t.shuffle;
  lc.seed = Generator::hash(config.seed, 0x10ad);
  lc.prefetch_batches = config.data.prefetch_batches;
  lc.preprocessor_fingerprint = run.preprocessor_fingerprint;
  lc.tokenizer_fingerprint = run.tokenizer_fingerprint;
  return lc;
}

std::string loss_reduction(const ExperimentConfig& config, const io::ModelConfig& model_config) {
  const std::string r = config.loss.reduction.empty() ? model_config.ctc_reduction : config.loss.reduction;
  if (r != "mean_batch" && r != "mean_volume" && r != "mean" && r != "sum")
    throw Error(str_cat("loss.reduction: unsupported '", r, "' (mean_batch | mean_volume | mean | sum)"));
  return r;
}

Tensor ctc_training_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                         const Tensor& target_lengths, int64_t blank, const std::string& reduction,
                         bool zero_infinity) {
  if (reduction == "mean_batch")
    return ops::ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, ops::CtcReduction::MeanBatch,
                         zero_infinity);
  if (reduction == "mean_volume")
    return ops::ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, ops::CtcReduction::MeanVolume,
                         zero_infinity);
  if (reduction == "sum")
    return ops::ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, ops::CtcReduction::Sum,
                         zero_infinity);
  // torch's "mean": each utterance's loss divided by its target length (at least 1), averaged.
  Tensor per_utt = ops::ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                                 ops::CtcReduction::None, zero_infinity);
  const Tensor lens = target_lengths.to(Device::cpu()).to(DType::F64).contiguous();
  const int64_t n = lens.numel();
  std::vector<double> inv(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) inv[static_cast<size_t>(i)] = 1.0 / std::max(1.0, lens.data<double>()[i]);
  Tensor w = Tensor::from_vector(inv, {n}).to(per_utt.dtype()).to(per_utt.device());
  return ops::scale(ops::sum(ops::mul(per_utt, w)), 1.0 / static_cast<double>(n));
}

void set_cpu_threads(int64_t threads) {
  if (threads > 0) omp_set_num_threads(static_cast<int>(threads));
}

int64_t peak_rss_bytes() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;
}

}  // namespace asr::train::detail
