// The training loop (trainer.h). Read run_training() from the top: set-up, resume, then one
// optimizer step per iteration of the while loop, with validation and checkpoints between steps.
// train() wraps it with the data-parallel group and ends the whole job when one rank fails.
#include "asr/train/trainer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>

#include "asr/autograd/node.h"
#include "asr/backend/backend.h"
#include "asr/dist/mpi_session.h"
#include "asr/io/run_folder.h"
#include "asr/models/adapter_file.h"
#include "asr/train/checkpoint.h"
#include "asr/train/evaluate.h"
#include "asr/train/grad_clip.h"
#include "asr/train/metrics_log.h"
#include "asr/util/fault_injection.h"
#include "run_setup.h"

namespace asr::train {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The optimizer steps a run takes: max_steps, or max_epochs worth of batches.
int64_t planned_steps(const ExperimentConfig& c, const data::Loader& loader) {
  const int64_t per_epoch = std::max<int64_t>(1, loader.batches_per_epoch() / c.trainer.accumulate_grad_batches);
  int64_t steps = std::numeric_limits<int64_t>::max();
  if (c.trainer.max_steps) steps = *c.trainer.max_steps;
  if (c.trainer.max_epochs) steps = std::min(steps, *c.trainer.max_epochs * per_epoch);
  return steps;
}

// Validation metrics of every set, "name/wer" -> value.
std::map<std::string, double> validate(const ExperimentConfig& c, detail::RunModel& run) {
  std::map<std::string, double> out;
  run.model->train(false);
  for (const ShardSetConfig& set : c.data.validation) {
    EvalOptions opt;
    opt.batch_size = set.batch_size > 0 ? set.batch_size : 16;
    opt.keep_utterances = false;
    const EvalResult r = evaluate_shards(*run.model, *run.tokenizer, set.shards, opt);
    out[set.name + "/loss"] = r.loss;
    out[set.name + "/wer"] = r.wer;
    out[set.name + "/cer"] = r.cer;
  }
  detail::restore_training_mode(c, *run.model);
  return out;
}

// Rank 0's console, JSON lines and TensorBoard; the other ranks stay silent.
class RunLogs {
 public:
  RunLogs(const ExperimentConfig& c, const std::string& run_dir, int64_t total_steps, bool root)
      : root_(root), progress_(root ? c.logging.progress : "never", total_steps) {
    if (!root) return;
    if (c.logging.json) json_ = std::make_unique<JsonLinesWriter>((fs::path(run_dir) / "metrics.jsonl").string());
    if (c.logging.tensorboard)
      tb_ = std::make_unique<TensorBoardWriter>((fs::path(run_dir) / "tensorboard").string());
  }
  void scalars(int64_t step, const std::map<std::string, double>& values) {
    if (json_) json_->write(step, values);
    if (tb_) {
      for (const auto& [k, v] : values) tb_->add_scalar(k, v, step);
      tb_->flush();
    }
  }
  void line(const std::string& text) {  // always shown (on rank 0)
    if (root_) progress_.line(text);
  }
  void plain(const std::string& text) {  // the periodic line when there is no live progress line
    if (root_ && !progress_.interactive()) progress_.line(text);
  }
  void progress(int64_t step, double loss, double lr, double audio_per_second) {
    if (root_) progress_.update(step, loss, lr, audio_per_second);
  }
  void finish() {
    if (root_) progress_.finish();
  }

 private:
  bool root_;
  ProgressPrinter progress_;
  std::unique_ptr<JsonLinesWriter> json_;
  std::unique_ptr<TensorBoardWriter> tb_;
};

// SIGUSR1/SIGTERM ask the run to stop after the current step with a checkpoint (preemption).
volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

class StopSignals {  // installs the handlers for the run, restores the previous ones after
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old_usr1_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGUSR1, &old_usr1_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_usr1_ {}, old_term_ {};
};

std::string pack_rng(const RankRngState& r) {
  std::string s(sizeof r, '\0');
  std::memcpy(s.data(), &r, sizeof r);
  return s;
}

RankRngState unpack_rng(const std::string& s) {
  RankRngState r;
  if (s.size() != sizeof r) throw Error("trainer: malformed per-rank RNG state from a peer");
  std::memcpy(&r, s.data(), sizeof r);
  return r;
}

bool better(double value, double best, const std::string& mode) {
  return mode == "max" ? value > best : value < best;
}

std::string monitor_key(const ExperimentConfig& c) {
  if (!c.checkpoint.monitor.empty()) return c.checkpoint.monitor;
  return c.data.validation.empty() ? "" : c.data.validation.front().name + "/wer";
}

// train() below, once the data-parallel group exists.
TrainResult run_training(const ExperimentConfig& config, const TrainOptions& options);

}  // namespace

// An error on one rank of a job (a shard only it read was damaged, a checkpoint that rank 0 alone
// writes hit a full disk) ends every rank at once: the others would otherwise wait in their next
// collective for trainer.collective_timeout (300 s by default) before giving up. A caller that
// brings its own communicator deals with failures itself.
TrainResult train(const ExperimentConfig& config, const TrainOptions& options) {
  if (options.communicator) return run_training(config, options);
  dist::CommunicatorOptions co;
  co.backend = config.trainer.dist_backend;
  co.timeout_seconds = config.trainer.collective_timeout;
  co.device = config.trainer.device == "cuda" ? Device::cuda(0) : Device::cpu();
  const std::unique_ptr<dist::Communicator> comm = dist::make_communicator(co);
  TrainOptions with_group = options;
  with_group.communicator = comm.get();
  try {
    return run_training(config, with_group);
  } catch (const std::exception& e) {
    if (comm->size() <= 1) throw;
    spdlog::error("rank {} of {}: {}", comm->rank(), comm->size(), e.what());
    spdlog::error("rank {}: ending the whole job now (MPI_Abort) so that no rank waits for this one", comm->rank());
    dist::MpiSession::abort_job(1);
  }
}

namespace {

TrainResult run_training(const ExperimentConfig& config, const TrainOptions& options) {
  const auto t_start = Clock::now();
  TrainResult result;
  const ExperimentConfig& c = config;
  const std::string run_dir = c.run_dir.empty() ? "runs/" + c.name : c.run_dir;
  const std::string ckpt_dir = (fs::path(run_dir) / "checkpoints").string();
  const bool full = c.model.train_mode == "full";
  result.run_dir = run_dir;

  if (c.trainer.precision == "bf16" && full)
    throw Error(str_cat(c.source, ": trainer.precision bf16 runs the frozen backbone in bf16 and applies to ",
                        "train_mode adapters; train_mode full trains in fp32"));

  // ---- the data-parallel group: rank 0 alone writes files and prints ----
  dist::Communicator* comm = options.communicator;  // set by train()
  const int rank = comm->rank(), world = comm->size();
  // The device this rank trains on: NCCL picked one GPU per local rank; one process uses GPU 0.
  const Device device = c.trainer.device != "cuda"  ? Device::cpu()
                        : comm->device().is_cuda() ? comm->device()
                                                   : Device::cuda(0);
  if (device.is_cuda()) {
    try {
      (void)backend_for(device);
    } catch (const Error& e) {
      throw Error(str_cat(c.source, ": trainer.device cuda: ", e.what()));
    }
  }
  const bool root = rank == 0;
  result.world_size = world;
  StopSignals stop_signals;
  detail::set_cpu_threads(c.trainer.threads);

  // ---- set-up ----
  std::error_code ec;
  if (root) fs::create_directories(run_dir, ec);
  if (ec) throw Error(str_cat(run_dir, ": cannot create the run folder (", ec.message(), ")"));
  if (root) io::refuse_symlinks_inside(run_dir);
  std::string resume_from;
  if (c.resume == "auto") {
    resume_from = latest_checkpoint(ckpt_dir);
  } else if (c.resume != "never") {
    resume_from = c.resume;
    if (!fs::is_directory(resume_from)) throw Error(str_cat("resume: ", resume_from, " is not a checkpoint folder"));
  } else if (!latest_checkpoint(ckpt_dir).empty()) {
    throw Error(str_cat(run_dir, " already holds checkpoints and resume is 'never': choose another run_dir ",
                        "or resume: auto"));
  }
  // Every rank must resume from the same folder (a shared file system is assumed).
  resume_from = comm->broadcast_string(resume_from, 0);
  const std::string resolved = to_yaml(c);
  if (root) write_text_file_atomically((fs::path(run_dir) / "config.yaml").string(), resolved);

  detail::RunModel run = detail::build_model(c, rank, device);
  result.device = device.str();
  result.bf16_weights = run.converted_weights;
  models::ConformerCtcModel& model = *run.model;
  Tensor flat_params = model.flat_parameters();  // handles sharing the model's flat buffers
  Tensor flat_grads = model.flat_gradients();
  result.trainable_parameters = model.num_trainable_parameters();
  for (const auto& [n, p] : model.named_parameters()) result.total_parameters += p.numel();
  result.bytes_all_reduced_per_step = world > 1 ? flat_grads.numel() * static_cast<int64_t>(dtype_size(flat_grads.dtype())) : 0;
  const std::string reduction = detail::loss_reduction(c, model.config());
  comm->broadcast(flat_params, 0);  // every rank starts from rank 0's adapter weights

  data::LoaderConfig loader_config = detail::train_loader_config(c, run);
  loader_config.rank = rank;
  loader_config.world_size = world;
  data::Loader loader(loader_config);
  const int64_t total_steps = planned_steps(c, loader);
  std::unique_ptr<Optimizer> optimizer = detail::build_optimizer(c.optim);
  LrScheduler scheduler(detail::build_schedule(c.optim, total_steps, model.config().encoder.d_model));
  Generator augment_gen(detail::rank_stream(c.seed, 0x5a, rank));
  const data::SpecAugmentConfig spec_augment{c.data.spec_augment.freq_masks, c.data.spec_augment.freq_width,
                                             c.data.spec_augment.time_masks, c.data.spec_augment.time_width, 0.0};
  const bool augment = spec_augment.freq_masks > 0 || spec_augment.time_masks > 0;

  TrainingState st;
  st.train_mode = c.model.train_mode;
  st.base_fingerprint = run.base_fingerprint;
  std::vector<std::string> notes;  // printed by rank 0 once the logs are open
  if (!resume_from.empty()) {
    st = read_training_state(resume_from);
    if (st.train_mode != c.model.train_mode || st.base_fingerprint != run.base_fingerprint ||
        st.trainable.numel() != flat_params.numel())
      throw Error(str_cat(resume_from, ": this checkpoint belongs to a different experiment (train mode, base ",
                          "model or adapters differ); use a new run_dir or resume: never"));
    autograd::NoGradGuard ng;
    flat_params.copy_(st.trainable.to(flat_params.dtype()).to(flat_params.device()));
    for (auto [name, b] : model.named_buffers()) {
      auto it = st.buffers.find(name);
      if (it != st.buffers.end()) b.copy_(it->second.to(b.dtype()).to(b.device()));
    }
    optimizer->load_state(st.optimizer);
    scheduler.set_step(st.scheduler_step);
    if (st.world_size == world) {
      loader.restore(st.loader);
      const RankRngState& r = st.rank_rng.at(static_cast<size_t>(rank));
      model.dropout_generator().set_state(r.dropout_seed, r.dropout_offset);
      augment_gen.set_state(r.augment_seed, r.augment_offset);
      notes.push_back(str_cat("resuming from ", resume_from, " (step ", st.step, ", epoch ", st.loader.epoch, ")"));
    } else {
      // Batches are split by rank: another world size cannot continue the same epoch.
      loader.restore({st.loader.epoch + (st.loader.batch_index > 0 ? 1 : 0), 0});
      model.dropout_generator().set_state(detail::rank_stream(c.seed, 0xd0 + static_cast<uint64_t>(st.step), rank), 0);
      augment_gen.set_state(detail::rank_stream(c.seed, 0x5a + static_cast<uint64_t>(st.step), rank), 0);
      notes.push_back(str_cat("resuming from ", resume_from, " (step ", st.step, ") written by ", st.world_size,
                              " rank(s) on ", world, " rank(s): adapter weights, optimizer and schedule carry over; ",
                              "the data order restarts at epoch ", loader.position().epoch));
    }
    result.resumed_from_step = st.step;
  }
  st.world_size = world;

  RunLogs logs(c, run_dir, total_steps, root);
  if (fault::enabled()) logs.line(str_cat("fault injection active: ASR_FAULT_INJECT=", std::getenv("ASR_FAULT_INJECT")));
  for (const auto& n : notes) logs.line(n);
  const std::string monitor = monitor_key(c);
  std::string best_folder;
  if (st.best_step >= 0) best_folder = (fs::path(ckpt_dir) / checkpoint_folder_name(st.best_step)).string();
  logs.line(str_cat("train: ", c.name, " | mode ", c.model.train_mode, " | trainable ", result.trainable_parameters,
                    " of ", result.total_parameters, " parameters (",
                    fmt::format("{:.3f}", 100.0 * result.trainable_parameters / result.total_parameters), "%) | ",
                    loader.num_utterances(), " training utterances, ", loader.batches_per_epoch(),
                    " batches/epoch/rank | ", total_steps, " steps"));
  if (!device.is_cpu() || c.trainer.precision != "fp32")
    logs.line(str_cat("device ", device.str(), " (", backend_for(device).name(), ") | precision ", c.trainer.precision,
                      c.trainer.precision == "bf16"
                          ? str_cat(": ", run.converted_weights, " frozen weight matrices in bf16, adapters in f32")
                          : std::string()));
  if (world > 1)
    logs.line(str_cat("data-parallel: ", world, " ranks (", comm->name(), "), all-reducing ",
                      result.bytes_all_reduced_per_step, " bytes of gradients per step (",
                      full ? "every parameter" : "adapters only; the frozen base is never communicated", ")"));

  // What the output files hold, for checkpoints and the end of the run.
  auto output_writer = [&](const std::string& path) {
    if (full) {
      io::ModelFile out = run.file;
      for (const auto& [k, t] : model.named_state()) out.weights[k] = t;
      io::write_model_h5(out, path);
    } else {
      models::save_adapter_file(path, model, {}, run.base_fingerprint, c.model.path);
    }
  };
  const std::string output_name = full ? "model.h5" : "adapters.h5";
  // Collective: every rank contributes its RNG streams; rank 0 writes the folder.
  auto checkpoint = [&]() {
    RankRngState mine{model.dropout_generator().seed(), model.dropout_generator().offset(), augment_gen.seed(),
                      augment_gen.offset()};
    const std::vector<std::string> all = comm->gather_strings(pack_rng(mine), 0);
    if (!root) return std::string();
    st.rank_rng.clear();
    for (const auto& s : all) st.rank_rng.push_back(unpack_rng(s));
    st.trainable = flat_params.clone();
    st.buffers.clear();
    if (full)
      for (const auto& [n, b] : model.named_buffers()) st.buffers[n] = b.clone();
    st.optimizer = optimizer->state();
    st.scheduler_step = scheduler.last_step();
    st.loader = loader.position();
    io::refuse_symlinks_inside(run_dir);  // a link planted mid-run must not redirect this write
    const std::string folder = write_checkpoint(ckpt_dir, st, resolved, {{output_name, output_writer}});
    if (st.best_step == st.step)
      write_pointer_file((fs::path(ckpt_dir) / "best").string(), fs::path(folder).filename().string());
    rotate_checkpoints(ckpt_dir, c.checkpoint.keep_last, {best_folder});
    return folder;
  };

  // ---- the loop: one optimizer step per iteration ----
  double step_time = 0;
  int64_t timed_steps = 0;
  double window_loss = 0, window_audio = 0, window_time = 0, window_reduce = 0, window_gemm_flops = 0;
  int64_t window_steps = 0;
  bool out_of_data = false;
  // The device backend's GEMM FLOP counter (this rank's matrix work; on CUDA the convolutions are
  // not GEMMs and not counted): train/gemm_gflop_per_step and train/gemm_gflops_per_second, for
  // comparing with the machine's GEMM peak (bench/dist_throughput.sh).
  const BackendStats& gemm_counter = backend_for(device).stats();
  const int64_t accumulate = c.trainer.accumulate_grad_batches;
  const double inv_accumulate = 1.0 / static_cast<double>(accumulate);
  while (st.step < total_steps && !out_of_data) {
    const auto t_step = Clock::now();
    const uint64_t gemm_flops_before = gemm_counter.gemm_flops;
    double step_loss = 0, step_audio = 0;
    bool finite = true;
    model.zero_grad();
    for (int64_t micro = 0; micro < accumulate; ++micro) {
      data::Batch batch;
      while (!loader.next(batch)) {  // end of an epoch (every rank has the same batch count)
        if (c.trainer.max_epochs && loader.position().epoch >= *c.trainer.max_epochs) {
          out_of_data = true;
          break;
        }
      }
      if (out_of_data) break;
      if (fault::point("trainer.batch"))  // a test's poisoned batch: the step must be skipped
        std::fill(batch.features.data<float>(), batch.features.data<float>() + batch.features.numel(),
                  std::numeric_limits<float>::quiet_NaN());
      if (augment) data::spec_augment(batch.features, batch.feature_lengths, spec_augment, augment_gen);
      const models::CtcOutput out = model.forward(batch.features, batch.feature_lengths);
      Tensor loss = detail::ctc_training_loss(out.log_probs, batch.tokens, out.lengths, batch.token_lengths,
                                              model.blank(), reduction, c.loss.zero_infinity);
      const Tensor aux = model.auxiliary_loss();
      if (aux.defined()) loss = ops::add(loss, aux);
      const double value = loss.item();
      if (!std::isfinite(value)) finite = false;
      ops::scale(loss, inv_accumulate).backward();
      step_loss += value * inv_accumulate;
      for (double d : batch.durations) step_audio += d;
    }
    if (out_of_data) break;
    // Data parallel: the one all-reduce of the step, over the flat gradient of the trainable
    // parameters; then the loss, audio seconds and the stop/non-finite flags for everyone.
    const auto t_reduce = Clock::now();
    if (world > 1) comm->all_reduce_mean(flat_grads);
    window_reduce += seconds_since(t_reduce);
    const std::vector<double> sums = comm->all_reduce_sum({step_loss, step_audio});
    const std::vector<double> flags = comm->all_reduce_max({finite ? 0.0 : 1.0, static_cast<double>(g_stop_signal)});
    step_loss = sums[0] / world;
    step_audio = sums[1];
    finite = flags[0] == 0.0;
    const int stop_signal = static_cast<int>(flags[1]);
    double grad_norm_value = 0;
    if (c.trainer.gradient_clip_val > 0) {
      const ClipResult clip = clip_grad_norm(flat_grads, c.trainer.gradient_clip_val);
      grad_norm_value = clip.total_norm;
      finite = finite && clip.finite;
    } else {
      grad_norm_value = grad_norm(flat_grads);
      finite = finite && std::isfinite(grad_norm_value);
    }
    st.audio_seconds += step_audio;
    if (!finite) {
      ++st.skipped_steps;
      ++st.consecutive_nonfinite;
      logs.line(str_cat("step ", st.step + 1, ": non-finite loss or gradient (loss ", step_loss, ", grad norm ",
                        grad_norm_value, "): step skipped (", st.consecutive_nonfinite, " in a row, ",
                        st.skipped_steps, " in total)"));
      if (st.consecutive_nonfinite >= c.trainer.max_consecutive_nonfinite)
        throw Error(str_cat("training stopped: ", st.consecutive_nonfinite,
                            " non-finite steps in a row (trainer.max_consecutive_nonfinite). Lower optim.lr, set ",
                            "trainer.gradient_clip_val, or check the data; the last good checkpoint is in ",
                            ckpt_dir));
      model.zero_grad();
    } else {
      st.consecutive_nonfinite = 0;
      const double lr = scheduler.lr();
      optimizer->step(flat_params, flat_grads, lr);
      scheduler.step();
      ++st.step;
      result.step_losses.push_back(step_loss);
      const double dt = seconds_since(t_step);
      step_time += dt;
      ++timed_steps;
      window_loss += step_loss;
      window_audio += step_audio;
      window_time += dt;
      window_gemm_flops += static_cast<double>(gemm_counter.gemm_flops - gemm_flops_before);
      ++window_steps;
      logs.progress(st.step, window_loss / window_steps, lr, window_audio / std::max(window_time, 1e-9));

      const bool last = st.step >= total_steps;
      if (st.step % c.trainer.log_every_n_steps == 0 || last) {
        std::map<std::string, double> m{{"train/loss", window_loss / window_steps},
                                        {"train/lr", lr},
                                        {"train/grad_norm", grad_norm_value},
                                        {"train/audio_seconds_per_second", window_audio / std::max(window_time, 1e-9)},
                                        {"train/gemm_gflop_per_step", window_gemm_flops / 1e9 / window_steps},
                                        {"train/gemm_gflops_per_second", window_gemm_flops / 1e9 / std::max(window_time, 1e-9)},
                                        {"train/skipped_steps", static_cast<double>(st.skipped_steps)}};
        if (world > 1) {
          m["dist/bytes_all_reduced_per_step"] = static_cast<double>(result.bytes_all_reduced_per_step);
          m["dist/all_reduce_seconds_per_step"] = window_reduce / window_steps;
        }
        logs.scalars(st.step, m);
        logs.plain(fmt::format("step {}/{} | loss {:.4f} | lr {:.3e} | grad norm {:.3f} | {:.1f} audio-s/s", st.step,
                               total_steps, window_loss / window_steps, lr, grad_norm_value,
                               window_audio / std::max(window_time, 1e-9)));
        window_loss = window_audio = window_time = window_reduce = window_gemm_flops = 0;
        window_steps = 0;
      }
      const bool validate_now = !c.data.validation.empty() &&
                                ((c.trainer.val_check_interval > 0 && st.step % c.trainer.val_check_interval == 0) ||
                                 last);
      const bool save_now = (c.checkpoint.every_n_steps > 0 && st.step % c.checkpoint.every_n_steps == 0) || last ||
                            validate_now || stop_signal != 0;
      if (validate_now) {
        // Every rank evaluates the whole set (same numbers everywhere, no communication).
        result.last_validation = validate(c, run);
        logs.scalars(st.step, result.last_validation);
        std::string line = str_cat("validation at step ", st.step, ":");
        for (const auto& [k, v] : result.last_validation) line += fmt::format(" {} {:.4f}", k, v);
        logs.line(line);
        auto it = result.last_validation.find(monitor);
        if (it == result.last_validation.end())
          throw Error(str_cat("checkpoint.monitor: '", monitor, "' is not a validation metric (have: ",
                              result.last_validation.begin()->first, ", ...)"));
        if (st.best_step < 0 || better(it->second, st.best_metric, c.checkpoint.mode)) {
          st.best_metric = it->second;
          st.best_step = st.step;
          best_folder = (fs::path(ckpt_dir) / checkpoint_folder_name(st.step)).string();
        }
      }
      if (save_now) checkpoint();
      if (options.halt_after_step >= 0 && st.step >= options.halt_after_step) {
        result.halted = true;
        break;
      }
    }
    if (stop_signal != 0) {
      if (!finite) checkpoint();  // the step was skipped: nothing saved it yet
      result.preempted = true;
      result.stop_signal = stop_signal == SIGUSR1 ? "SIGUSR1" : stop_signal == SIGTERM ? "SIGTERM" : str_cat("signal ", stop_signal);
      logs.line(str_cat(result.stop_signal, " received: stopped after step ", st.step,
                        " with a checkpoint; run the same command again to resume"));
      break;
    }
  }
  logs.finish();

  result.steps = st.step;
  result.skipped_steps = st.skipped_steps;
  result.best_checkpoint = best_folder;
  result.mean_step_seconds = timed_steps ? step_time / static_cast<double>(timed_steps) : 0;
  result.peak_rss_bytes = detail::peak_rss_bytes();
  if (!result.halted && !result.preempted) {
    if (out_of_data) checkpoint();  // max_epochs ended the run between checkpoints
    result.output_file = (fs::path(run_dir) / output_name).string();
    if (root) {
      io::refuse_symlinks_inside(run_dir);
      output_writer(result.output_file);
    }
  }
  if (!full) {
    // Proof that training never wrote to the frozen base model (read-only mmap or not).
    result.frozen_fingerprint_after = models::base_model_fingerprint(model);
    if (result.frozen_fingerprint_after != run.placed_fingerprint)
      throw Error(str_cat("internal error: the frozen base model changed during training (fingerprint ",
                          run.placed_fingerprint, " -> ", result.frozen_fingerprint_after, ")"));
    if (root)
      spdlog::info("frozen base weights unchanged: fingerprint {} before and after training", run.placed_fingerprint);
  }
  comm->barrier();  // rank 0's files are complete when any rank returns
  result.wall_seconds = seconds_since(t_start);
  return result;
}

}  // namespace

}  // namespace asr::train
