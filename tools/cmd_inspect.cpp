// chorus inspect: what a model file holds.
#include <algorithm>
#include <cstdio>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kernels/ggml_types.h"
#include "models/gguf.h"
#include "models/json_text.h"
#include "models/model_file.h"
#include "models/utf8.h"
#include "runtime/expert_layout.h"
#include "runtime/expert_registry.h"
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

nlohmann::json config_json(const models::ModelFile& f) {
  const models::LlamaConfig& c = f.config;
  return {{"dim", c.dim}, {"hidden_dim", c.hidden_dim}, {"n_layers", c.n_layers}, {"n_heads", c.n_heads},
          {"n_kv_heads", c.n_kv_heads}, {"head_dim", c.head_dim}, {"vocab_size", c.vocab_size},
          {"context_length", c.context_length}, {"rope_dim", c.rope_dim}, {"rope_base", c.rope_base},
          {"rms_eps", c.rms_eps}, {"tied_output", f.tied_output}};
}

// "q5_0 x133 (266.7 MB)", per type, most bytes first.
std::vector<std::string> type_summary(const models::ModelFile& f) {
  std::map<std::string, std::pair<int, uint64_t>> by_type;
  for (const auto& t : f.tensors) {
    auto& [count, bytes] = by_type[kernels::type_name(t.type)];
    ++count;
    bytes += t.bytes;
  }
  std::vector<std::pair<std::string, std::pair<int, uint64_t>>> v(by_type.begin(), by_type.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
  std::vector<std::string> out;
  for (const auto& [type, cb] : v) out.push_back(fmt::format("{} x{} ({:.1f} MB)", type, cb.first, cb.second / 1e6));
  return out;
}

int64_t elements(const models::TensorInfo& t) {
  int64_t n = 1;
  for (int64_t d : t.dims) n *= d;
  return n;
}

int run_inspect(const InspectOptions& o) {
  models::ModelFile f = models::open_model_file(o.model);
  // With --dtype: each tensor's type after quantize-on load (those that do not fit keep theirs).
  std::vector<std::string> loaded(f.tensors.size());
  if (!o.dtype.empty()) {
    const runtime::ExpertLayout layout = runtime::plan_expert_layout(f, runtime::resident_dtype_from_name(o.dtype));
    for (size_t i = 0; i < f.tensors.size(); ++i) loaded[i] = kernels::type_name(layout.tensors[i].resident_type);
  }
  int64_t params = 0;
  for (const auto& t : f.tensors) params += elements(t);
  if (o.json) {
    nlohmann::json j = {{"path", f.path}, {"format", f.format}, {"architecture", f.architecture}, {"name", f.name},
                        {"config", config_json(f)}, {"tensor_count", f.tensors.size()},
                        {"tensor_bytes", f.tensor_bytes()}, {"parameters", params}, {"types", type_summary(f)}};
    if (models::find_architecture(f.architecture)) j["layer"] = models::describe_layer(f.config);
    if (f.gguf) {
      j["gguf_version"] = f.gguf->version();
      nlohmann::json md = nlohmann::json::object();
      for (const auto& [k, v] : f.gguf->metadata()) md[k] = v.to_string(o.all_metadata ? SIZE_MAX : 8);
      j["metadata"] = md;
    }
    nlohmann::json ts = nlohmann::json::array();
    for (size_t i = 0; i < f.tensors.size(); ++i) {
      const auto& t = f.tensors[i];
      ts.push_back({{"name", t.name}, {"type", kernels::type_name(t.type)}, {"shape", t.dims}, {"bytes", t.bytes},
                    {"offset", t.file_offset}});
      if (!o.dtype.empty()) ts.back()["loaded_type"] = loaded[i];
    }
    j["tensors"] = ts;
    std::puts(models::json_text(j, 2).c_str());
    return 0;
  }
  // Names, keys and values come from the file: printed escaped (an ESC byte would reach the terminal).
  using models::printable;
  fmt::print("file:          {}\nformat:        {}{}\narchitecture:  {}\n", printable(f.path), f.format,
             f.gguf ? fmt::format(" v{}", f.gguf->version()) : "", printable(f.architecture));
  if (!f.name.empty()) fmt::print("name:          {}\n", printable(f.name));
  const models::LlamaConfig& c = f.config;
  fmt::print("dim {}  hidden {}  layers {}  heads {}  kv_heads {}  head_dim {}  vocab {}  context {}\n", c.dim,
             c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.vocab_size, c.context_length);
  fmt::print("rope dim {} base {}  rms eps {}  output {}\n", c.rope_dim, c.rope_base, c.rms_eps,
             f.tied_output ? "tied to token_embd" : "separate");
  if (models::find_architecture(f.architecture)) fmt::print("layer:         {}\n", models::describe_layer(c));
  fmt::print("types:         {}\n\n", fmt::join(type_summary(f), ", "));
  if (f.gguf) {
    fmt::print("metadata ({} keys):\n", f.gguf->metadata().size());
    for (const auto& [k, v] : f.gguf->metadata())
      fmt::print("  {:<42} {}\n", printable(k), printable(v.to_string(o.all_metadata ? SIZE_MAX : 8)));
    fmt::print("\n");
  }
  fmt::print("{:<36} {:<6} {:<20} {:>12} {:>12} {}\n", "tensor", "type", "shape", "bytes", "offset",
             o.dtype.empty() ? "" : "loaded as (--dtype " + o.dtype + ")");
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    const auto& t = f.tensors[i];
    fmt::print("{:<36} {:<6} {:<20} {:>12} {:>12} {}\n", printable(t.name), kernels::type_name(t.type),
               fmt::format("[{}]", fmt::join(t.dims, ", ")), t.bytes, t.file_offset, loaded[i]);
  }
  fmt::print("\n{} tensors, {} parameters, {} bytes ({:.1f} MiB)\n", f.tensors.size(), params, f.tensor_bytes(),
             f.tensor_bytes() / 1048576.0);
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
