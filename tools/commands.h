// Each subcommand of the `chorus` program registers itself on the CLI11 app.
// A command's callback stores its exit status in `exit_code`.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace chorus::cli {

void register_generate(CLI::App& app, int& exit_code);
void register_inspect(CLI::App& app, int& exit_code);
void register_synth(CLI::App& app, int& exit_code);
void register_tokenize(CLI::App& app, int& exit_code);
void register_route(CLI::App& app, int& exit_code);
void register_train_router(CLI::App& app, int& exit_code);
void register_ask(CLI::App& app, int& exit_code);
void register_explain(CLI::App& app, int& exit_code);
// `chorus serve`: the OpenAI-compatible HTTP server (tools/serve/).
void register_serve(CLI::App& app);
// `chorus bench` (model speed); returns the command so that bench subcommands can be added.
CLI::App* register_bench(CLI::App& app, int& exit_code);
// `chorus bench tiers`, added to the `bench` command object.
void register_bench_tiers(CLI::App& bench, int& exit_code);
// `chorus bench compose`: sequential vs executor latency of a plan.
void register_bench_compose(CLI::App& bench, int& exit_code);
// `chorus inspect --experts`: the registry's experts, their tiers and the budgets.
void print_experts(const std::string& path, bool json);

}  // namespace chorus::cli
