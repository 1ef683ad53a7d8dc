// The C API over the C++ one: status codes and a per-thread message instead of
// exceptions, opaque handles, sized params.
#include "chorus/chorus.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "chorus/composer.h"
#include "chorus/error.h"
#include "chorus/model.h"
#include "chorus/tokenizer.h"
#include "models/utf8.h"

struct chorus_model {
  chorus::Model model;
  chorus::ModelInfo info;  // owns the strings chorus_model_info points into
};

struct chorus_composer {
  chorus::Composer composer;
};

namespace {

thread_local std::string t_last_error = "no error";

chorus_status fail(chorus_status status, std::string message) {
  t_last_error = std::move(message);
  return status;
}

chorus_status status_of(chorus::ErrorCode code) {
  switch (code) {
    case chorus::ErrorCode::kInvalidArgument: return CHORUS_ERR_INVALID_ARGUMENT;
    case chorus::ErrorCode::kIo: return CHORUS_ERR_IO;
    case chorus::ErrorCode::kFormat: return CHORUS_ERR_FORMAT;
    case chorus::ErrorCode::kUnsupported: return CHORUS_ERR_UNSUPPORTED;
    case chorus::ErrorCode::kResourceExhausted: return CHORUS_ERR_RESOURCE_EXHAUSTED;
    case chorus::ErrorCode::kNotFound: return CHORUS_ERR_NOT_FOUND;
    case chorus::ErrorCode::kInternal: return CHORUS_ERR_INTERNAL;
    case chorus::ErrorCode::kCancelled: return CHORUS_ERR_CANCELLED;
  }
  return CHORUS_ERR_INTERNAL;
}

// Runs `body`, turning every exception into a status and this thread's message.
template <typename Body>
chorus_status guarded(const char* function, Body&& body) {
  try {
    body();
    return CHORUS_OK;
  } catch (const chorus::Error& e) {
    return fail(status_of(e.code()), fmt::format("{}: {}", function, e.what()));
  } catch (const std::bad_alloc&) {
    return fail(CHORUS_ERR_RESOURCE_EXHAUSTED, fmt::format("{}: out of memory", function));
  } catch (const std::exception& e) {
    return fail(CHORUS_ERR_INTERNAL, fmt::format("{}: {}", function, e.what()));
  } catch (...) {
    return fail(CHORUS_ERR_INTERNAL, fmt::format("{}: an unknown exception", function));
  }
}

// A caller's string: present and valid UTF-8, else an invalid-argument error naming it.
void require_text(const std::string& name, const char* text) {
  if (!text) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, fmt::format("{} is NULL", name));
  if (!chorus::models::is_valid_utf8(text))
    throw chorus::Error(chorus::ErrorCode::kInvalidArgument, fmt::format("{} is not valid UTF-8", name));
}

char* copy_out(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (!out) throw std::bad_alloc();
  std::memcpy(out, s.data(), s.size() + 1);
  return out;
}

// Copies the caller's `size` bytes of a sized struct over the defaults; a
// larger struct is accepted only if what this version does not know is zero.
template <typename T>
T read_sized(const T* given, T defaults, const char* name) {
  if (!given) return defaults;
  const uint32_t size = given->struct_size;
  if (size < offsetof(T, struct_size) + sizeof(uint32_t))
    throw chorus::Error(chorus::ErrorCode::kInvalidArgument,
                        fmt::format("{}.struct_size {} is too small (set it from {}_default())", name, size, name));
  T out = defaults;
  std::memcpy(static_cast<void*>(&out), given, std::min<size_t>(size, sizeof(T)));
  const auto* tail = reinterpret_cast<const unsigned char*>(given);
  for (size_t i = sizeof(T); i < size; ++i)
    if (tail[i] != 0)
      throw chorus::Error(chorus::ErrorCode::kUnsupported,
                          fmt::format("{} has fields (struct_size {}) this chorus {} does not know", name, size,
                                      CHORUS_VERSION_STRING));
  out.struct_size = sizeof(T);
  return out;
}

// Writes the defaults into a caller's struct of `struct_size` bytes (its own version's size).
template <typename T>
void init_sized(T* params, uint32_t struct_size, const T& defaults) {
  if (!params) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "params is NULL");
  if (struct_size < offsetof(T, struct_size) + sizeof(uint32_t))
    throw chorus::Error(chorus::ErrorCode::kInvalidArgument, fmt::format("struct_size {} is too small", struct_size));
  std::memset(static_cast<void*>(params), 0, struct_size);
  std::memcpy(static_cast<void*>(params), &defaults, std::min<size_t>(struct_size, sizeof(T)));
  params->struct_size = struct_size;
}

const char* optional_text(const char* name, const char* text) {
  if (text) require_text(name, text);
  return text ? text : "";
}

}  // namespace

extern "C" {

const char* chorus_version(void) { return CHORUS_VERSION_STRING; }

const char* chorus_last_error(void) { return t_last_error.c_str(); }

const char* chorus_status_name(chorus_status status) {
  switch (status) {
    case CHORUS_OK: return "ok";
    case CHORUS_ERR_INVALID_ARGUMENT: return "invalid_argument";
    case CHORUS_ERR_IO: return "io";
    case CHORUS_ERR_FORMAT: return "format";
    case CHORUS_ERR_UNSUPPORTED: return "unsupported";
    case CHORUS_ERR_RESOURCE_EXHAUSTED: return "resource_exhausted";
    case CHORUS_ERR_NOT_FOUND: return "not_found";
    case CHORUS_ERR_INTERNAL: return "internal";
    case CHORUS_ERR_CANCELLED: return "cancelled";
  }
  return "unknown";
}

chorus_model_params chorus_model_params_default(void) {
  chorus_model_params p{};
  p.struct_size = sizeof(p);
  p.max_running = chorus::ModelOptions{}.max_running;
  return p;
}

chorus_status chorus_model_params_init(chorus_model_params* params, uint32_t struct_size) {
  return guarded("chorus_model_params_init", [&] { init_sized(params, struct_size, chorus_model_params_default()); });
}

chorus_status chorus_model_open_with(const char* path, const chorus_model_params* params, chorus_model** out) {
  return guarded("chorus_model_open", [&] {
    if (!out) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "out is NULL");
    *out = nullptr;
    require_text("path", path);
    const chorus_model_params p = read_sized(params, chorus_model_params_default(), "chorus_model_params");
    chorus::ModelOptions o;
    o.threads = p.threads;
    o.kernel_path = optional_text("kernel_path", p.kernel_path);
    o.activations = optional_text("activations", p.activations);
    o.dtype = optional_text("dtype", p.dtype);
    o.context = p.context;
    o.max_running = p.max_running;
    auto* m = new chorus_model{chorus::Model::open(path, o), {}};
    m->info = m->model.info();
    *out = m;
  });
}

chorus_status chorus_model_open(const char* path, chorus_model** out) {
  return chorus_model_open_with(path, nullptr, out);
}

void chorus_model_close(chorus_model* model) { delete model; }

chorus_status chorus_model_get_info(const chorus_model* model, chorus_model_info* out) {
  return guarded("chorus_model_get_info", [&] {
    if (!model) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "model is NULL");
    if (!out) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "out is NULL");
    const uint32_t size = out->struct_size;
    if (size < sizeof(uint32_t))
      throw chorus::Error(chorus::ErrorCode::kInvalidArgument,
                          "out->struct_size must be set to sizeof(chorus_model_info)");
    chorus_model_info i{};
    const chorus::ModelInfo& m = model->info;
    i.struct_size = std::min<uint32_t>(size, sizeof(i));
    i.architecture = m.architecture.c_str();
    i.name = m.name.c_str();
    i.vocab_size = m.vocab_size;
    i.context_length = m.context_length;
    i.n_layers = m.n_layers;
    i.dim = m.dim;
    i.n_heads = m.n_heads;
    i.n_kv_heads = m.n_kv_heads;
    i.has_chat_template = m.has_chat_template;
    std::memcpy(static_cast<void*>(out), &i, i.struct_size);
  });
}

chorus_generate_params chorus_generate_params_default(void) {
  const chorus::GenerateParams d;
  chorus_generate_params p{};
  p.max_tokens = d.max_tokens;
  p.temperature = d.temperature;
  p.seed = d.seed;
  p.chat = d.chat;
  p.struct_size = sizeof(p);
  p.top_k = d.top_k;
  p.top_p = d.top_p;
  p.min_p = d.min_p;
  p.repetition_penalty = d.repetition_penalty;
  return p;
}

chorus_status chorus_generate_params_init(chorus_generate_params* params, uint32_t struct_size) {
  return guarded("chorus_generate_params_init",
                 [&] { init_sized(params, struct_size, chorus_generate_params_default()); });
}

chorus_status chorus_generate(chorus_model* model, const char* prompt, const chorus_generate_params* params,
                              chorus_token_callback on_token, void* user_data, char** out_text) {
  if (out_text) *out_text = nullptr;
  return guarded("chorus_generate", [&] {
    if (!model) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "model is NULL");
    require_text("prompt", prompt);
    const chorus_generate_params p = read_sized(params, chorus_generate_params_default(), "chorus_generate_params");
    chorus::GenerateParams g;
    g.max_tokens = p.max_tokens;
    g.temperature = p.temperature;
    g.seed = p.seed;
    g.chat = p.chat;
    g.top_k = p.top_k;
    g.ignore_eos = p.ignore_eos;
    g.top_p = p.top_p;
    g.min_p = p.min_p;
    g.repetition_penalty = p.repetition_penalty;
    g.system = optional_text("system", p.system);
    g.grammar = optional_text("grammar", p.grammar);
    if (p.n_stop > 0 && !p.stop)
      throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "stop is NULL but n_stop is not 0");
    for (size_t i = 0; i < p.n_stop; ++i) {
      require_text(fmt::format("stop[{}]", i), p.stop[i]);
      g.stop.emplace_back(p.stop[i]);
    }
    // The caller's flag, copied into the atomic the engine reads before each
    // step: at once if it is already set, and while the call runs by a watcher
    // that polls it every millisecond, so that a flag set during a long prefill
    // (no token yet to notice it) stops the call at the next prefill chunk.
    auto flag_set = [&] { return p.cancel && __atomic_load_n(p.cancel, __ATOMIC_RELAXED); };
    std::atomic<bool> cancelled{flag_set()};
    if (p.cancel) g.cancel = &cancelled;
    std::jthread watcher;  // declared after `cancelled`: stopped and joined before it goes
    if (p.cancel && !cancelled)
      watcher = std::jthread([&](const std::stop_token& stop) {
        while (!stop.stop_requested() && !cancelled) {
          if (flag_set()) cancelled = true;
          else std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      });
    std::string piece;
    g.on_token = [&](const chorus::TokenEvent& e) {
      if (flag_set()) cancelled = true;
      if (!on_token) return true;
      piece.assign(e.piece);
      return on_token(piece.c_str(), user_data);
    };
    const chorus::GenerateResult r = model->model.generate(prompt, g);
    if (flag_set() && r.finish_reason == "cancelled")
      throw chorus::Error(chorus::ErrorCode::kCancelled, "cancelled by the caller's flag");
    if (out_text) *out_text = copy_out(r.text);
  });
}

chorus_status chorus_tokenize(const chorus_model* model, const char* text, bool add_bos, int32_t** out_tokens,
                              size_t* out_count) {
  return guarded("chorus_tokenize", [&] {
    if (!model) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "model is NULL");
    if (!out_tokens || !out_count) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "out_tokens or out_count is NULL");
    *out_tokens = nullptr;
    *out_count = 0;
    require_text("text", text);
    const std::vector<int32_t> ids = model->model.tokenize(text, add_bos);
    auto* buf = static_cast<int32_t*>(std::malloc(std::max<size_t>(1, ids.size()) * sizeof(int32_t)));
    if (!buf) throw std::bad_alloc();
    std::copy(ids.begin(), ids.end(), buf);
    *out_tokens = buf;
    *out_count = ids.size();
  });
}

chorus_status chorus_detokenize(const chorus_model* model, const int32_t* tokens, size_t count, char** out_text) {
  return guarded("chorus_detokenize", [&] {
    if (!model) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "model is NULL");
    if (!out_text) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "out_text is NULL");
    *out_text = nullptr;
    if (count > 0 && !tokens) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "tokens is NULL");
    *out_text = copy_out(model->model.detokenize({tokens, count}));
  });
}

void chorus_tokens_free(int32_t* tokens) { std::free(tokens); }

chorus_status chorus_describe_model_file(const char* path, char** out_json) {
  return guarded("chorus_describe_model_file", [&] {
    if (!out_json) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "out_json is NULL");
    *out_json = nullptr;
    require_text("path", path);
    *out_json = copy_out(chorus::describe_model_file(path));
  });
}

chorus_composer_params chorus_composer_params_default(void) {
  const chorus::ComposerOptions d;
  chorus_composer_params p{};
  p.struct_size = sizeof(p);
  p.max_running = d.max_running;
  p.max_context = d.max_context;
  return p;
}

chorus_status chorus_composer_params_init(chorus_composer_params* params, uint32_t struct_size) {
  return guarded("chorus_composer_params_init", [&] { init_sized(params, struct_size, chorus_composer_params_default()); });
}

chorus_status chorus_composer_open_with(const char* experts_config_path, const chorus_composer_params* params,
                                        chorus_composer** out) {
  return guarded("chorus_composer_open", [&] {
    if (!out) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "out is NULL");
    *out = nullptr;
    require_text("experts_config_path", experts_config_path);
    const chorus_composer_params p = read_sized(params, chorus_composer_params_default(), "chorus_composer_params");
    chorus::ComposerOptions o;
    o.router = optional_text("router", p.router);
    o.threads = p.threads;
    o.activations = optional_text("activations", p.activations);
    o.max_running = p.max_running;
    o.max_context = p.max_context;
    *out = new chorus_composer{chorus::Composer::open(experts_config_path, o)};
  });
}

chorus_status chorus_composer_open(const char* experts_config_path, chorus_composer** out) {
  return chorus_composer_open_with(experts_config_path, nullptr, out);
}

chorus_status chorus_ask(chorus_composer* composer, const char* question, char** out_json) {
  return guarded("chorus_ask", [&] {
    if (!composer) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "composer is NULL");
    if (!out_json) throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "out_json is NULL");
    *out_json = nullptr;
    require_text("question", question);
    *out_json = copy_out(composer->composer.ask(question).json);
  });
}

void chorus_composer_close(chorus_composer* composer) { delete composer; }

void chorus_string_free(char* s) { std::free(s); }

}  // extern "C"
