// The `chorus` command line: one subcommand per job, each in its own file.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "chorus/error.h"
#include "tools/commands.h"
#include "tools/omp_spin.h"

int main(int argc, char** argv) {
  chorus::cli::bound_omp_spinning(argv);
  CLI::App app{"chorus: a CPU inference runtime for compositions of small expert language models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "chorus 0.1.0");
  int exit_code = 0;
  chorus::cli::register_generate(app, exit_code);
  chorus::cli::register_inspect(app, exit_code);
  chorus::cli::register_synth(app, exit_code);
  chorus::cli::register_tokenize(app, exit_code);
  chorus::cli::register_route(app, exit_code);
  chorus::cli::register_train_router(app, exit_code);
  chorus::cli::register_ask(app, exit_code);
  auto* bench = chorus::cli::register_bench(app, exit_code);
  chorus::cli::register_bench_tiers(*bench, exit_code);
  chorus::cli::register_bench_compose(*bench, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const chorus::Error& e) {
    std::fprintf(stderr, "chorus: error (%s): %s\n", chorus::error_code_name(e.code()), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chorus: error: %s\n", e.what());
    return 1;
  }
  return exit_code;
}
