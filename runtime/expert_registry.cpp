#include "runtime/expert_registry.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "models/file_kind.h"
#include "models/gguf.h"
#include "models/mapped_file.h"
#include "models/model_file.h"
#include "runtime/byte_size.h"

namespace chorus::runtime {

namespace {

using nlohmann::json;

// Where an error happened: the config file and, inside it, the entry.
struct Context {
  const std::string& config;
  std::string entry;  // e.g. "expert 'math' (entry 1)"; "" at the top level

  [[noreturn]] void fail(ErrorCode code, const std::string& what) const {
    throw Error(code, entry.empty() ? fmt::format("{}: {}", config, what) : fmt::format("{}: {}: {}", config, entry, what));
  }
};

void reject_unknown_fields(const json& object, std::initializer_list<std::string_view> known, const Context& ctx,
                           std::string_view where) {
  for (const auto& [key, value] : object.items()) {
    bool found = false;
    for (std::string_view k : known) found = found || k == key;
    if (!found) {
      std::string list;
      for (std::string_view k : known) list += fmt::format("{}{}", list.empty() ? "" : ", ", k);
      ctx.fail(ErrorCode::kInvalidArgument, fmt::format("unknown field '{}' in {} (known: {})", key, where, list));
    }
  }
}

const json& require_object(const json& j, const Context& ctx, std::string_view where) {
  if (!j.is_object()) ctx.fail(ErrorCode::kInvalidArgument, fmt::format("{} must be a JSON object", where));
  return j;
}

std::string get_string(const json& object, const char* key, const Context& ctx, bool required) {
  const auto it = object.find(key);
  if (it == object.end()) {
    if (required) ctx.fail(ErrorCode::kInvalidArgument, fmt::format("missing field '{}'", key));
    return "";
  }
  if (!it->is_string()) ctx.fail(ErrorCode::kInvalidArgument, fmt::format("field '{}' must be a string", key));
  return it->get<std::string>();
}

template <typename T>
void read_number(const json& object, const char* key, T& out, const Context& ctx) {
  const auto it = object.find(key);
  if (it == object.end()) return;
  if constexpr (std::is_unsigned_v<T>) {
    if (!it->is_number_unsigned())
      ctx.fail(ErrorCode::kInvalidArgument, fmt::format("generation.{} must be a non-negative integer", key));
    out = it->get<T>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!it->is_number_integer())
      ctx.fail(ErrorCode::kInvalidArgument, fmt::format("generation.{} must be an integer", key));
    const auto v = it->get<int64_t>();
    if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
      ctx.fail(ErrorCode::kInvalidArgument, fmt::format("generation.{} = {} is out of range", key, v));
    out = static_cast<T>(v);
  } else {
    if (!it->is_number()) ctx.fail(ErrorCode::kInvalidArgument, fmt::format("generation.{} must be a number", key));
    out = it->get<T>();
  }
}

uint64_t read_budget(const json& store, const char* key, uint64_t fallback, const Context& ctx) {
  const auto it = store.find(key);
  if (it == store.end()) return fallback;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_string()) return parse_byte_size(it->get<std::string>(), fmt::format("{}: store.{}", ctx.config, key));
  ctx.fail(ErrorCode::kInvalidArgument, fmt::format("store.{} must be a byte count or a string like \"512MiB\"", key));
}

GenerationDefaults parse_generation(const json& j, const Context& ctx) {
  require_object(j, ctx, "generation");
  reject_unknown_fields(j, {"max_tokens", "temperature", "top_k", "top_p", "min_p", "repetition_penalty", "seed"}, ctx,
                        "generation");
  GenerationDefaults g;
  read_number(j, "max_tokens", g.max_tokens, ctx);
  read_number(j, "temperature", g.sampling.temperature, ctx);
  read_number(j, "top_k", g.sampling.top_k, ctx);
  read_number(j, "top_p", g.sampling.top_p, ctx);
  read_number(j, "min_p", g.sampling.min_p, ctx);
  read_number(j, "repetition_penalty", g.sampling.repetition_penalty, ctx);
  read_number(j, "seed", g.sampling.seed, ctx);
  if (g.max_tokens <= 0) ctx.fail(ErrorCode::kInvalidArgument, fmt::format("generation.max_tokens = {} must be positive", g.max_tokens));
  try {
    validate(g.sampling);
  } catch (const Error& e) {
    ctx.fail(e.code(), e.what());
  }
  return g;
}

std::string resolve(const std::string& base_dir, const std::string& p) {
  const std::filesystem::path path(p);
  return path.is_absolute() ? p : (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

bool starts_with_gguf_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

// A llama2.c tokenizer.bin does not state its size: walk the entries
// (f32 score, i32 length, text) to the end of the file.
int64_t count_llama2c_tokens(const std::string& path) {
  const models::MappedFile file(path);
  const uint8_t* p = file.data();
  const size_t size = file.size();
  if (size < 4) throw Error(ErrorCode::kFormat, fmt::format("{}: a tokenizer.bin of {} bytes is truncated", path, size));
  size_t pos = 4;
  int64_t count = 0;
  while (pos < size) {
    int32_t length = 0;
    if (size - pos < 8) throw Error(ErrorCode::kFormat, fmt::format("{}: offset {}: token {} is truncated", path, pos, count));
    std::memcpy(&length, p + pos + 4, 4);
    if (length < 0 || static_cast<size_t>(length) > size - pos - 8)
      throw Error(ErrorCode::kFormat, fmt::format("{}: offset {}: token {} has a bad length {}", path, pos + 4, count, length));
    pos += 8 + static_cast<size_t>(length);
    ++count;
  }
  return count;
}

int64_t gguf_token_count(const models::GgufFile& f) {
  return static_cast<int64_t>(f.get_array("tokenizer.ggml.tokens", models::GgufValueType::STRING).items.size());
}

// Checks that the model opens and that its tokenizer has the model's vocabulary size.
void check_model_and_tokenizer(const ExpertSpec& e, const Context& ctx) {
  try {
    models::require_regular_file(e.model_path, "model");
    if (!e.tokenizer_path.empty()) models::require_regular_file(e.tokenizer_path, "tokenizer");
  } catch (const Error& err) {
    ctx.fail(err.code(), err.what());
  }
  int64_t model_vocab = 0;
  int64_t tokens = -1;  // stays -1 when neither a tokenizer file nor an embedded vocabulary exists
  try {
    const models::ModelFile model = models::open_model_file(e.model_path);
    model_vocab = model.config.vocab_size;
    if (!e.tokenizer_path.empty())
      tokens = starts_with_gguf_magic(e.tokenizer_path) ? gguf_token_count(models::GgufFile(e.tokenizer_path))
                                                        : count_llama2c_tokens(e.tokenizer_path);
    else if (model.gguf && model.gguf->has("tokenizer.ggml.tokens"))
      tokens = gguf_token_count(*model.gguf);
  } catch (const Error& err) {
    ctx.fail(err.code(), err.what());
  }
  if (tokens < 0)
    ctx.fail(ErrorCode::kInvalidArgument,
             fmt::format("model '{}' has no embedded vocabulary: name its tokenizer.bin in 'tokenizer'", e.model_path));
  if (tokens != model_vocab)
    ctx.fail(ErrorCode::kInvalidArgument,
             fmt::format("tokenizer '{}' has {} tokens but model '{}' has a vocabulary of {}: they do not belong together",
                         e.tokenizer_path.empty() ? e.model_path : e.tokenizer_path, tokens, e.model_path, model_vocab));
}

ExpertSpec parse_expert(const json& j, const Context& ctx, const std::string& base_dir) {
  require_object(j, ctx, "an expert");
  reject_unknown_fields(j,
                        {"name", "model", "tokenizer", "dtype", "activations", "categories", "prompt_template",
                         "generation"},
                        ctx, "the expert");
  ExpertSpec e;
  e.name = get_string(j, "name", ctx, true);
  if (e.name.empty()) ctx.fail(ErrorCode::kInvalidArgument, "field 'name' is empty");
  e.model_path = resolve(base_dir, get_string(j, "model", ctx, true));
  const std::string tokenizer = get_string(j, "tokenizer", ctx, false);
  if (!tokenizer.empty()) e.tokenizer_path = resolve(base_dir, tokenizer);
  const std::string dtype = get_string(j, "dtype", ctx, false);
  if (!dtype.empty() && dtype != "file") {
    e.dtype = resident_dtype_from_name(dtype);
    if (!e.dtype)
      ctx.fail(ErrorCode::kInvalidArgument,
               fmt::format("dtype '{}' is not one of file, f32, f16, bf16, q8_0, q4_0, q4_1", dtype));
  }
  const std::string activations = get_string(j, "activations", ctx, false);
  if (!activations.empty()) {
    e.activations = kernels::parse_activation_precision(activations);
    if (!e.activations)
      ctx.fail(ErrorCode::kInvalidArgument, fmt::format("activations '{}' is not f32, int16 or int8", activations));
  }
  if (const auto it = j.find("categories"); it != j.end()) {
    if (!it->is_array()) ctx.fail(ErrorCode::kInvalidArgument, "field 'categories' must be a list of strings");
    for (const json& c : *it) {
      if (!c.is_string() || c.get<std::string>().empty())
        ctx.fail(ErrorCode::kInvalidArgument, "field 'categories' must hold non-empty strings");
      e.categories.push_back(c.get<std::string>());
    }
  }
  e.prompt_template = get_string(j, "prompt_template", ctx, false);
  if (const auto it = j.find("generation"); it != j.end()) e.generation = parse_generation(*it, ctx);
  return e;
}

}  // namespace

std::optional<kernels::GgmlType> resident_dtype_from_name(std::string_view name) {
  using kernels::GgmlType;
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1})
    if (name == kernels::type_name(t)) return t;
  return std::nullopt;
}

const ExpertSpec* ExpertRegistry::find(std::string_view name) const {
  for (const ExpertSpec& e : experts)
    if (e.name == name) return &e;
  return nullptr;
}

ExpertRegistry parse_expert_registry(std::string_view json_text, const std::string& config_name,
                                     const std::string& base_dir) {
  const Context top{config_name, ""};
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {  // also out_of_range: a number too large for a double
    top.fail(ErrorCode::kFormat, fmt::format("not valid JSON: {}", e.what()));
  }
  require_object(root, top, "the config");
  reject_unknown_fields(root, {"experts", "store", "fallback", "on_out_of_domain", "planner"}, top, "the config");

  ExpertRegistry r;
  r.path = config_name;
  if (const auto it = root.find("store"); it != root.end()) {
    require_object(*it, top, "store");
    reject_unknown_fields(*it, {"resident_bytes", "host_bytes"}, top, "store");
    r.store.resident_bytes = read_budget(*it, "resident_bytes", r.store.resident_bytes, top);
    r.store.host_bytes = read_budget(*it, "host_bytes", r.store.host_bytes, top);
  }

  const auto experts = root.find("experts");
  if (experts == root.end() || !experts->is_array() || experts->empty())
    top.fail(ErrorCode::kInvalidArgument, "'experts' must be a non-empty list");
  std::set<std::string> names;
  for (size_t i = 0; i < experts->size(); ++i) {
    const json& entry = (*experts)[i];
    std::string label = fmt::format("expert entry {}", i);
    if (entry.is_object() && entry.contains("name") && entry["name"].is_string())
      label = fmt::format("expert '{}' (entry {})", entry["name"].get<std::string>(), i);
    const Context ctx{config_name, label};
    ExpertSpec e = parse_expert(entry, ctx, base_dir);
    if (!names.insert(e.name).second) ctx.fail(ErrorCode::kInvalidArgument, "duplicate expert name");
    check_model_and_tokenizer(e, ctx);
    r.experts.push_back(std::move(e));
  }

  r.fallback_expert = get_string(root, "fallback", top, false);
  if (!r.fallback_expert.empty() && !r.find(r.fallback_expert))
    top.fail(ErrorCode::kInvalidArgument, fmt::format("fallback expert '{}' is not in 'experts'", r.fallback_expert));
  r.planner_expert = get_string(root, "planner", top, false);
  if (!r.planner_expert.empty() && !r.find(r.planner_expert))
    top.fail(ErrorCode::kInvalidArgument, fmt::format("planner expert '{}' is not in 'experts'", r.planner_expert));
  const std::string policy = get_string(root, "on_out_of_domain", top, false);
  if (policy.empty()) {
    r.refuse_out_of_domain = r.fallback_expert.empty();
  } else if (policy == "refuse" || policy == "fallback") {
    r.refuse_out_of_domain = policy == "refuse";
    if (!r.refuse_out_of_domain && r.fallback_expert.empty())
      top.fail(ErrorCode::kInvalidArgument, "on_out_of_domain is 'fallback' but no 'fallback' expert is named");
  } else {
    top.fail(ErrorCode::kInvalidArgument, fmt::format("on_out_of_domain '{}' must be 'refuse' or 'fallback'", policy));
  }
  return r;
}

ExpertRegistry load_expert_registry(const std::string& path) {
  const std::string text = models::read_whole_file(path, "experts config");
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  return parse_expert_registry(text, path, base_dir.empty() ? "." : base_dir);
}

}  // namespace chorus::runtime
