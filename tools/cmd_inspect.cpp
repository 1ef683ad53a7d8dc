// chorus inspect: what a model file holds.
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/tokenizer.h"
#include "models/utf8.h"
#include "tools/commands.h"

namespace chorus::cli {

namespace {

struct InspectOptions {
  std::string model;
  std::string experts;
  std::string dtype;  // show what --dtype would convert each tensor to
  bool json = false;
  bool all_metadata = false;
};

// The API's JSON description, printed for a person. Names, keys and values come
// from the file: printed escaped (an ESC byte would reach the terminal).
int run_inspect(const InspectOptions& o) {
  const std::string text = describe_model_file(o.model, {.dtype = o.dtype, .all_metadata = o.all_metadata});
  if (o.json) {
    std::puts(text.c_str());
    return 0;
  }
  const nlohmann::json j = nlohmann::json::parse(text);
  using models::printable;
  const nlohmann::json& c = j["config"];
  fmt::print("file:          {}\nformat:        {}{}\narchitecture:  {}\n", printable(j["path"].get<std::string>()),
             j["format"].get<std::string>(), j.contains("gguf_version") ? fmt::format(" v{}", j["gguf_version"].get<int>()) : "",
             printable(j["architecture"].get<std::string>()));
  if (!j["name"].get<std::string>().empty()) fmt::print("name:          {}\n", printable(j["name"].get<std::string>()));
  fmt::print("dim {}  hidden {}  layers {}  heads {}  kv_heads {}  head_dim {}  vocab {}  context {}\n",
             c["dim"].get<int>(), c["hidden_dim"].get<int>(), c["n_layers"].get<int>(), c["n_heads"].get<int>(),
             c["n_kv_heads"].get<int>(), c["head_dim"].get<int>(), c["vocab_size"].get<int>(),
             c["context_length"].get<int>());
  fmt::print("rope dim {} base {}  rms eps {}  output {}\n", c["rope_dim"].get<int>(), c["rope_base"].get<float>(),
             c["rms_eps"].get<float>(), c["tied_output"].get<bool>() ? "tied to token_embd" : "separate");
  if (j.contains("layer")) fmt::print("layer:         {}\n", j["layer"].get<std::string>());
  fmt::print("types:         {}\n\n", fmt::join(j["types"].get<std::vector<std::string>>(), ", "));
  if (j.contains("metadata")) {
    fmt::print("metadata ({} keys):\n", j["metadata"].size());
    for (const auto& [k, v] : j["metadata"].items())
      fmt::print("  {:<42} {}\n", printable(k), printable(v.get<std::string>()));
    fmt::print("\n");
  }
  fmt::print("{:<36} {:<6} {:<20} {:>12} {:>12} {}\n", "tensor", "type", "shape", "bytes", "offset",
             o.dtype.empty() ? "" : "loaded as (--dtype " + o.dtype + ")");
  for (const auto& t : j["tensors"])
    fmt::print("{:<36} {:<6} {:<20} {:>12} {:>12} {}\n", printable(t["name"].get<std::string>()),
               t["type"].get<std::string>(), fmt::format("[{}]", fmt::join(t["shape"].get<std::vector<int64_t>>(), ", ")),
               t["bytes"].get<uint64_t>(), t["offset"].get<uint64_t>(), t.value("loaded_type", ""));
  const auto bytes = j["tensor_bytes"].get<uint64_t>();
  fmt::print("\n{} tensors, {} parameters, {} bytes ({:.1f} MiB)\n", j["tensor_count"].get<size_t>(),
             j["parameters"].get<int64_t>(), bytes, bytes / 1048576.0);
  return 0;
}

}  // namespace

void register_inspect(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<InspectOptions>();
  auto* cmd = app.add_subcommand("inspect", "Show a model file's architecture, hyperparameters, metadata and tensors");
  auto* model = cmd->add_option("--model,-m", o->model, "Model file: GGUF or llama2.c checkpoint")->check(CLI::ExistingFile);
  auto* experts = cmd->add_option("--experts", o->experts, "experts.json: the weight store's experts, tiers and budgets")
                      ->check(CLI::ExistingFile)->excludes(model);
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->add_flag("--all-metadata", o->all_metadata, "Print metadata arrays in full");
  cmd->add_option("--dtype", o->dtype, "Also show each tensor's type when loaded with --dtype (which ones convert, which keep their type)")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"}));
  cmd->callback([o, experts, &exit_code] {
    if (experts->count() > 0) {
      print_experts(o->experts, o->json);
      exit_code = 0;
    } else {
      if (o->model.empty()) throw CLI::RequiredError("--model or --experts");
      exit_code = run_inspect(*o);
    }
  });
}

}  // namespace chorus::cli
