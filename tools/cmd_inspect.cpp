#include "tools/commands.h"

namespace chorus::cli {

void register_inspect(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("inspect", "Show a model file's architecture and tensors");
  cmd->callback([&exit_code] { exit_code = 0; });
}

}  // namespace chorus::cli
