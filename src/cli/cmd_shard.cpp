// TEMPORARY STUB: replaced by the real command.
#include "commands.h"

namespace asr::cli {
CommandRunner add_shard_command(CLI::App& app) {
  app.add_subcommand("shard", "(not implemented yet)");
  return [] { return kFailure; };
}
}  // namespace asr::cli
