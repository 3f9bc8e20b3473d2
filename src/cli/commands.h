#pragma once
// Each subcommand registers itself on the CLI11 app and returns the function that runs it.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace asr::cli {

// Exit codes scripts can rely on.
// kPreempted: `train` stopped on SIGUSR1/SIGTERM after writing a checkpoint (requeue and rerun).
enum ExitCode : int { kOk = 0, kFailure = 1, kUsage = 2, kPreempted = 3 };

using CommandRunner = std::function<int()>;

CommandRunner add_demo_command(CLI::App& app);        // cmd_demo.cpp
CommandRunner add_info_command(CLI::App& app);        // cmd_info.cpp
CommandRunner add_import_command(CLI::App& app);      // cmd_import.cpp
CommandRunner add_transcribe_command(CLI::App& app);  // cmd_transcribe.cpp
CommandRunner add_shard_command(CLI::App& app);       // cmd_shard.cpp
CommandRunner add_init_command(CLI::App& app);        // cmd_init.cpp
CommandRunner add_train_command(CLI::App& app);       // cmd_train.cpp
CommandRunner add_eval_command(CLI::App& app);        // cmd_eval.cpp
CommandRunner add_export_command(CLI::App& app);      // cmd_export.cpp

// Multi-line build description for --version.
std::string version_text();

}  // namespace asr::cli
