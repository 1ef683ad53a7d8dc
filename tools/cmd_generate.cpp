#include "tools/commands.h"

namespace chorus::cli {

void register_generate(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("generate", "Generate text from a prompt");
  cmd->callback([&exit_code] { exit_code = 0; });
}

}  // namespace chorus::cli
