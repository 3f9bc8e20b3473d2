#pragma once
// Each subcommand registers itself on the CLI11 app and returns the exit code when it runs.
#include <CLI/CLI.hpp>

#include <functional>

namespace asr::cli {

// Exit codes scripts can rely on.
enum ExitCode : int { kOk = 0, kFailure = 1, kUsage = 2 };

using CommandRunner = std::function<int()>;

// Adds `demo` to the app; the returned runner is called when the subcommand was chosen.
CommandRunner add_demo_command(CLI::App& app);
// Multi-line build description for --version.
std::string version_text();

}  // namespace asr::cli
