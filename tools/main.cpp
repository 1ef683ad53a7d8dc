// The `chorus` command line: one subcommand per job, each in its own file.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "chorus/chorus.h"
#include "chorus/error.h"
#include "models/utf8.h"
#include "tools/commands.h"
#include "tools/omp_spin.h"

int main(int argc, char** argv) {
  chorus::cli::bound_omp_spinning(argv);
  CLI::App app{"chorus: a CPU inference runtime for compositions of small expert language models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("chorus ") + chorus_version());
  int exit_code = 0;
  chorus::cli::register_generate(app, exit_code);
  chorus::cli::register_inspect(app, exit_code);
  chorus::cli::register_synth(app, exit_code);
  chorus::cli::register_tokenize(app, exit_code);
  chorus::cli::register_route(app, exit_code);
  chorus::cli::register_train_router(app, exit_code);
  chorus::cli::register_ask(app, exit_code);
  chorus::cli::register_explain(app, exit_code);
  chorus::cli::register_serve(app);
  auto* bench = chorus::cli::register_bench(app, exit_code);
  chorus::cli::register_bench_tiers(*bench, exit_code);
  chorus::cli::register_bench_compose(*bench, exit_code);
  // `chorus help [COMMAND...]` is `chorus [COMMAND...] --help`.
  std::vector<char*> args(argv, argv + argc);
  static char help_flag[] = "--help";
  if (args.size() >= 2 && std::string_view(args[1]) == "help") {
    args.erase(args.begin() + 1);
    args.push_back(help_flag);
  }
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const chorus::Error& e) {
    // Messages quote names and values from files: nothing unprintable reaches the terminal.
    std::fprintf(stderr, "chorus: error (%s): %s\n", chorus::error_code_name(e.code()),
                 chorus::models::printable(e.what(), /*keep_newlines=*/true).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chorus: error: %s\n", chorus::models::printable(e.what(), true).c_str());
    return 1;
  }
  return exit_code;
}
