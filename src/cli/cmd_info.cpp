// TEMPORARY STUB: replaced by the real command.
#include "commands.h"

namespace asr::cli {
CommandRunner add_info_command(CLI::App& app) {
  app.add_subcommand("info", "(not implemented yet)");
  return [] { return kFailure; };
}
}  // namespace asr::cli
