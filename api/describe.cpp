// chorus::describe_model_file: a model file's header as JSON (`chorus inspect`).
#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/tokenizer.h"
#include "kernels/ggml_types.h"
#include "models/gguf.h"
#include "models/json_text.h"
#include "models/model_file.h"
#include "runtime/expert_layout.h"
#include "runtime/expert_registry.h"
#include "api/model_options.h"

namespace chorus {

namespace {

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

}  // namespace

std::string describe_model_file(const std::string& path, const DescribeOptions& options) {
  const models::ModelFile f = models::open_model_file(path);
  // With a dtype: each tensor's type after quantize-on-load (those that do not fit keep theirs).
  std::vector<std::string> loaded(f.tensors.size());
  if (!options.dtype.empty()) {
    const api::RuntimeSettings s = api::resolve_settings(0, "", "", options.dtype);
    const runtime::ExpertLayout layout = runtime::plan_expert_layout(f, s.dtype);
    for (size_t i = 0; i < f.tensors.size(); ++i) loaded[i] = kernels::type_name(layout.tensors[i].resident_type);
  }
  int64_t params = 0;
  for (const auto& t : f.tensors) params += elements(t);
  nlohmann::json j = {{"path", f.path}, {"format", f.format}, {"architecture", f.architecture}, {"name", f.name},
                      {"config", config_json(f)}, {"tensor_count", f.tensors.size()},
                      {"tensor_bytes", f.tensor_bytes()}, {"parameters", params}, {"types", type_summary(f)}};
  if (models::find_architecture(f.architecture)) j["layer"] = models::describe_layer(f.config);
  if (f.gguf) {
    j["gguf_version"] = f.gguf->version();
    nlohmann::json md = nlohmann::json::object();
    for (const auto& [k, v] : f.gguf->metadata()) md[k] = v.to_string(options.all_metadata ? SIZE_MAX : 8);
    j["metadata"] = md;
  }
  nlohmann::json ts = nlohmann::json::array();
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    const auto& t = f.tensors[i];
    ts.push_back({{"name", t.name}, {"type", kernels::type_name(t.type)}, {"shape", t.dims}, {"bytes", t.bytes},
                  {"offset", t.file_offset}});
    if (!options.dtype.empty()) ts.back()["loaded_type"] = loaded[i];
  }
  j["tensors"] = ts;
  return models::json_text(j, 2);
}

}  // namespace chorus
