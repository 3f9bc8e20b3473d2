// asr-adapt: the command-line entry point. Each subcommand lives in its own cmd_*.cpp.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <hdf5.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "asr/core/error.h"
#include "commands.h"

int main(int argc, char** argv) {
  using namespace asr::cli;
  // HDF5 1.10 leaves a dangling file id behind when H5Fclose fails (a full disk while it flushes)
  // and then crashes in its atexit clean-up (HDFFV-11052, fixed in 1.14.1), turning a clear
  // "No space left on device" error into a segfault. Every file is closed by RAII before exit, so
  // the clean-up is not needed. Must run before the first HDF5 call.
  H5dont_atexit();
  // Logs and progress go to stderr so stdout carries only results (transcripts, JSON lines).
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("", std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
  CLI::App app{"asr-adapt: customise a pretrained NeMo Conformer-CTC model with adapters"};
  app.set_version_flag("--version", [] { return version_text(); });
  app.require_subcommand(1);
  app.footer("Run 'asr-adapt COMMAND --help' for a command's options.");
  // Registration order is the order --help lists them in.
  std::vector<std::pair<CLI::App*, CommandRunner>> commands;
  for (auto add : {add_info_command, add_import_command, add_transcribe_command, add_shard_command,
                   add_init_command, add_train_command, add_eval_command, add_export_command, add_demo_command}) {
    CommandRunner run = add(app);
    commands.emplace_back(app.get_subcommands([](CLI::App*) { return true; }).back(), run);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
  } catch (const asr::Error& e) {
    spdlog::error("{}", e.what());
    return kFailure;
  } catch (const std::exception& e) {
    spdlog::error("unexpected error: {}", e.what());
    return kFailure;
  }
  return kUsage;
}
