// `asr-adapt train CONFIG.yaml [key.path=value ...]`: runs (or resumes) one experiment and prints
// where its adapter (or model) file went.
#include <spdlog/spdlog.h>

#include "asr/dist/mpi_session.h"
#include "asr/train/experiment_config.h"
#include "asr/train/trainer.h"
#include "commands.h"

namespace asr::cli {
namespace {

struct Options {
  std::string config;
  std::vector<std::string> overrides;
  bool print_config = false;
};

int run_train(const Options& o) {
  const train::ExperimentConfig config = train::load_experiment_config(o.config, o.overrides);
  if (o.print_config) {
    std::fputs(train::to_yaml(config).c_str(), stdout);
    return kOk;
  }
  const train::TrainResult r = train::train(config);
  if (r.preempted) return kPreempted;  // the trainer said what happened
  if (r.world_size > 1 && dist::MpiSession::get().rank() != 0) return kOk;
  spdlog::info("done: {} steps ({} skipped) in {:.1f} s, {:.3f} s/step, peak memory {:.0f} MiB", r.steps,
               r.skipped_steps, r.wall_seconds, r.mean_step_seconds, r.peak_rss_bytes / 1048576.0);
  for (const auto& [k, v] : r.last_validation) spdlog::info("final {} = {:.4f}", k, v);
  if (!r.best_checkpoint.empty()) spdlog::info("best checkpoint: {}", r.best_checkpoint);
  spdlog::info("{} written: {}", config.model.train_mode == "full" ? "model" : "adapter", r.output_file);
  return kOk;
}

}  // namespace

CommandRunner add_train_command(CLI::App& app) {
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("train", "Train adapters (or the full model) from a YAML experiment config");
  cmd->add_option("config", opts->config, "Experiment config (see configs/*.yaml)")->required()->check(CLI::ExistingFile);
  cmd->add_option("overrides", opts->overrides,
                  "Dot-path overrides, e.g. optim.lr=3e-4 adapters.0.dim=64 trainer.max_steps=100");
  cmd->add_flag("--print-config", opts->print_config, "Print the resolved config (defaults + overrides) and exit");
  cmd->footer(
      "Writes RUN/config.yaml (resolved), RUN/metrics.jsonl, RUN/tensorboard/, RUN/checkpoints/step-N/ and\n"
      "RUN/adapters.h5 (RUN/model.h5 with model.train_mode=full); RUN is run_dir (default runs/<name>).\n"
      "resume: auto (default) continues from RUN/checkpoints/latest.\n"
      "Data-parallel: mpirun -np N asr-adapt train CONFIG (or srun); rank 0 writes files and logs.\n"
      "Exit status: 0 done, 1 failure, 2 usage, 3 stopped by SIGUSR1/SIGTERM after a checkpoint (rerun to resume).");
  return [opts] { return run_train(*opts); };
}

}  // namespace asr::cli
