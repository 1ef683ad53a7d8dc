/* chorus — the C API (C99). The stable ABI of libchorus.so.
 *
 * Conventions
 * - Every fallible call returns a chorus_status; CHORUS_OK is 0. After a
 *   non-OK status, chorus_last_error() returns this thread's message for it
 *   (library-owned, valid until this thread's next chorus call; never NULL).
 * - No exception crosses this boundary; NULL handles, NULL strings and invalid
 *   UTF-8 give CHORUS_ERR_INVALID_ARGUMENT with a message, never a crash.
 * - Options structs begin with `struct_size`: take them from the
 *   *_default() functions, change what you need, pass a pointer (NULL = the
 *   defaults). Fields are only ever appended; a caller built against an older
 *   header passes a smaller size and gets the defaults for the rest.
 * - Strings returned through `char**` are the caller's: free each with
 *   chorus_string_free(). Arrays through `int32_t**` likewise with chorus_tokens_free().
 * - Threads: a chorus_model and a chorus_composer may be used from several
 *   threads at once (except close). Concurrent chorus_generate calls on one
 *   model are batched together by one engine. A token callback runs on the
 *   thread that called chorus_generate.
 */
#ifndef CHORUS_CHORUS_H
#define CHORUS_CHORUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chorus/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  CHORUS_OK = 0,
  CHORUS_ERR_INVALID_ARGUMENT = 1,
  CHORUS_ERR_IO = 2,
  CHORUS_ERR_FORMAT = 3,
  CHORUS_ERR_UNSUPPORTED = 4,
  CHORUS_ERR_RESOURCE_EXHAUSTED = 5,
  CHORUS_ERR_NOT_FOUND = 6,
  CHORUS_ERR_INTERNAL = 7,
  CHORUS_ERR_CANCELLED = 8
} chorus_status;

typedef struct chorus_model chorus_model;
typedef struct chorus_composer chorus_composer;

/* Called with each generated piece of text (NUL-terminated; may be part of a
 * UTF-8 character). Return false to stop: the call then returns CHORUS_OK with
 * the text so far and finish reason "cancelled". */
typedef bool (*chorus_token_callback)(const char* piece, void* user_data);

typedef struct {
  int32_t max_tokens;     /* default 256 */
  float temperature;      /* default 0.8; 0 = greedy */
  uint64_t seed;          /* default 42 */
  bool chat;              /* apply the model's chat template to the prompt (as one user turn) */
  /* --- fields of chorus 0.2 --- */
  uint32_t struct_size;   /* sizeof(chorus_generate_params) as the caller knows it */
  int32_t top_k;          /* default 40; 0 = off */
  float top_p;            /* default 0.95; 1 = off */
  float min_p;            /* default 0.05; 0 = off */
  float repetition_penalty; /* default 1 = off */
  const char* system;     /* with chat: a system message; NULL = none */
  const char* grammar;    /* GBNF text constraining the output; NULL = none */
  const char* const* stop;  /* stop strings; NULL or n_stop = 0 for none */
  size_t n_stop;
  const volatile bool* cancel;  /* set *cancel = true from any thread to stop (checked about every
                                   millisecond, also during the prompt's prefill); NULL = none */
  bool ignore_eos;        /* default false; true: never end at an end-of-generation token, run to
                             max_tokens (benchmarks) */
} chorus_generate_params;

typedef struct {
  uint32_t struct_size;   /* sizeof(chorus_model_params) as the caller knows it */
  int32_t threads;        /* 0 = all cores */
  const char* kernel_path; /* "avx512" | "avx2" | "scalar"; NULL = the best this CPU runs */
  const char* activations; /* "f32" (exact, default) | "int16" (near-exact, faster) | "int8" */
  const char* dtype;       /* NULL = the file's weight types; "q8_0", ... = quantize on load */
  int32_t context;         /* positions per sequence; 0 = min(model's, 4096) */
  int32_t max_running;     /* sequences decoded together; default 16 */
} chorus_model_params;

typedef struct {
  uint32_t struct_size;   /* sizeof(chorus_model_info) as the caller knows it */
  const char* architecture; /* library-owned, valid while the model is open */
  const char* name;
  int32_t vocab_size;
  int32_t context_length;
  int32_t n_layers;
  int32_t dim;
  int32_t n_heads;
  int32_t n_kv_heads;
  bool has_chat_template;
} chorus_model_info;

CHORUS_API const char* chorus_version(void);
CHORUS_API const char* chorus_last_error(void);
CHORUS_API const char* chorus_status_name(chorus_status status);

CHORUS_API chorus_status chorus_model_open(const char* path, chorus_model** out);
CHORUS_API chorus_model_params chorus_model_params_default(void);
CHORUS_API chorus_status chorus_model_params_init(chorus_model_params* params, uint32_t struct_size);
CHORUS_API chorus_status chorus_model_open_with(const char* path, const chorus_model_params* params, chorus_model** out);
CHORUS_API void chorus_model_close(chorus_model* model);
CHORUS_API chorus_status chorus_model_get_info(const chorus_model* model, chorus_model_info* out);

CHORUS_API chorus_generate_params chorus_generate_params_default(void);
/* The same defaults written into the caller's struct of `struct_size` bytes: safe for a caller built
 * against another version of this header (a struct returned by value has this header's size). */
CHORUS_API chorus_status chorus_generate_params_init(chorus_generate_params* params, uint32_t struct_size);
/* out_text may be NULL when only streaming; on_token may be NULL. */
CHORUS_API chorus_status chorus_generate(chorus_model* model, const char* prompt, const chorus_generate_params* params,
                                         chorus_token_callback on_token, void* user_data, char** out_text);

/* Token ids of `text` (BOS first when add_bos and the vocabulary wants it). *out_tokens is the caller's:
 * free with chorus_tokens_free. */
CHORUS_API chorus_status chorus_tokenize(const chorus_model* model, const char* text, bool add_bos,
                                         int32_t** out_tokens, size_t* out_count);
CHORUS_API chorus_status chorus_detokenize(const chorus_model* model, const int32_t* tokens, size_t count,
                                           char** out_text);
CHORUS_API void chorus_tokens_free(int32_t* tokens);

/* What a model file holds, as JSON (architecture, config, metadata, tensors); reads its header only. */
CHORUS_API chorus_status chorus_describe_model_file(const char* path, char** out_json);

typedef struct {
  uint32_t struct_size;   /* sizeof(chorus_composer_params) as the caller knows it */
  const char* router;     /* router file from `chorus train-router`; NULL = none (nodes routed by text are refused) */
  int32_t threads;        /* 0 = all cores */
  const char* activations; /* "f32" (default) | "int16" | "int8" */
  int32_t max_running;    /* sequences batched per expert; default 8 */
  int32_t max_context;    /* positions per sequence; default 512 */
} chorus_composer_params;

CHORUS_API chorus_status chorus_composer_open(const char* experts_config_path, chorus_composer** out);
CHORUS_API chorus_composer_params chorus_composer_params_default(void);
CHORUS_API chorus_status chorus_composer_params_init(chorus_composer_params* params, uint32_t struct_size);
CHORUS_API chorus_status chorus_composer_open_with(const char* experts_config_path, const chorus_composer_params* params,
                                                   chorus_composer** out);
/* out_json: {"answer": ..., "ok": ..., "nodes": [...], "failures": [...], "plan": ..., "waves": ..., ...} */
CHORUS_API chorus_status chorus_ask(chorus_composer* composer, const char* question, char** out_json);
CHORUS_API void chorus_composer_close(chorus_composer* composer);

CHORUS_API void chorus_string_free(char* s);

#ifdef __cplusplus
}
#endif

#endif /* CHORUS_CHORUS_H */
