// TEMPORARY STUB: replaced by the real command.
#include "commands.h"

namespace asr::cli {
CommandRunner add_import_command(CLI::App& app) {
  app.add_subcommand("import", "(not implemented yet)");
  return [] { return kFailure; };
}
}  // namespace asr::cli
