// load_gguf_tokenizer: the vocabulary embedded in a GGUF file's
// tokenizer.ggml.* metadata, for the `llama` (SentencePiece-style BPE) and
// `gpt2` (byte-level BPE) tokenizer models.
#include <array>
#include <limits>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/gguf.h"
#include "models/pretokenizer.h"
#include "models/tokenizer.h"
#include "models/tokenizer_bpe.h"
#include "models/tokenizer_spm.h"

namespace chorus::models {

namespace {

constexpr const char* kModelKey = "tokenizer.ggml.model";
constexpr const char* kPreKey = "tokenizer.ggml.pre";
constexpr const char* kTokensKey = "tokenizer.ggml.tokens";
constexpr const char* kScoresKey = "tokenizer.ggml.scores";
constexpr const char* kTokenTypeKey = "tokenizer.ggml.token_type";
constexpr const char* kMergesKey = "tokenizer.ggml.merges";

// Control tokens that end a turn in common chat formats, whatever the file's eos/eot ids say.
constexpr std::array<std::string_view, 4> kEndOfTurnNames = {"<|im_end|>", "<|eot_id|>", "<|endoftext|>",
                                                             "<end_of_turn>"};

[[noreturn]] void fail(const GgufFile& file, std::string_view key, const std::string& what,
                       ErrorCode code = ErrorCode::kFormat) {
  throw Error(code, fmt::format("{}: metadata '{}': {}", file.path(), key, what));
}

// An optional per-token array of numbers (scores, types) that must have one entry per token.
const GgufArray* per_token_array(const GgufFile& file, std::string_view key, size_t n_tokens,
                                 std::initializer_list<GgufValueType> allowed) {
  const GgufValue* value = file.find(key);
  if (!value) return nullptr;
  const auto* array = std::get_if<std::shared_ptr<GgufArray>>(&value->v);
  if (!array) fail(file, key, fmt::format("expected an array, found {}", gguf_value_type_name(value->type)));
  bool type_ok = false;
  for (GgufValueType t : allowed) type_ok |= (*array)->elem_type == t;
  if (!type_ok) fail(file, key, fmt::format("unexpected element type {}", gguf_value_type_name((*array)->elem_type)));
  if ((*array)->items.size() != n_tokens)
    fail(file, key, fmt::format("has {} entries but {} has {} tokens", (*array)->items.size(), kTokensKey, n_tokens));
  return array->get();
}

double number_of(const GgufValue& v) {
  if (const auto* d = std::get_if<double>(&v.v)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v.v)) return static_cast<double>(*i);
  if (const auto* u = std::get_if<uint64_t>(&v.v)) return static_cast<double>(*u);
  return 0;
}

// A special token id: `fallback` when the key is absent (or outside the
// vocabulary), -1 when the key holds -1 or 0xFFFFFFFF, which converters write for "none".
int32_t read_token_id(const GgufFile& file, std::string_view key, int32_t fallback, int32_t n_tokens) {
  const GgufValue* value = file.find(key);
  if (!value) return fallback < n_tokens ? fallback : -1;
  const auto* as_unsigned = std::get_if<uint64_t>(&value->v);
  const auto* as_signed = std::get_if<int64_t>(&value->v);
  if (!as_unsigned && !as_signed)
    fail(file, key, fmt::format("expected an integer, found {}", gguf_value_type_name(value->type)));
  if (as_signed ? *as_signed == -1 : *as_unsigned == std::numeric_limits<uint32_t>::max()) return -1;
  const int64_t id = as_signed ? *as_signed : static_cast<int64_t>(std::min<uint64_t>(*as_unsigned, INT64_MAX));
  if (id < 0 || id >= n_tokens)
    fail(file, key, fmt::format("token id {} is outside the vocabulary of {} tokens", id, n_tokens));
  return static_cast<int32_t>(id);
}

Vocabulary read_vocabulary(const GgufFile& file, bool scores_required) {
  const GgufArray& tokens = file.get_array(kTokensKey, GgufValueType::STRING);
  const size_t n = tokens.items.size();
  if (n == 0) fail(file, kTokensKey, "the vocabulary is empty");
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) fail(file, kTokensKey, "too many tokens");
  if (scores_required && !file.has(kScoresKey)) fail(file, kScoresKey, "missing");
  const GgufArray* scores = per_token_array(file, kScoresKey, n, {GgufValueType::FLOAT32, GgufValueType::INT32});
  const GgufArray* types = per_token_array(file, kTokenTypeKey, n, {GgufValueType::INT32});

  Vocabulary vocab;
  vocab.texts.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    vocab.texts.emplace_back(std::get<std::string_view>(tokens.items[i].v));
    vocab.scores.push_back(scores ? static_cast<float>(number_of(scores->items[i])) : 0.0f);
    TokenType type = TokenType::kNormal;
    if (types) {
      const double t = number_of(types->items[i]);
      type = t >= 0 && t <= static_cast<double>(TokenType::kByte) ? static_cast<TokenType>(static_cast<int32_t>(t))
                                                                   : TokenType::kUndefined;
    }
    vocab.types.push_back(type);
  }
  if (const auto duplicate = vocab.build_index())
    fail(file, kTokensKey, fmt::format("token '{}' appears twice (ids {} and {})", vocab.texts[duplicate->first],
                                       duplicate->first, duplicate->second));
  return vocab;
}

// EOS, EOT, EOM and the end-of-turn control tokens found by name.
void collect_end_of_generation(const GgufFile& file, Vocabulary& vocab) {
  const int32_t n = vocab.size();
  for (int32_t id : {vocab.eos, read_token_id(file, "tokenizer.ggml.eot_token_id", -1, n),
                     read_token_id(file, "tokenizer.ggml.eom_token_id", -1, n)})
    if (id >= 0) vocab.end_of_generation.push_back(id);
  for (std::string_view name : kEndOfTurnNames)
    if (const std::optional<int32_t> id = vocab.find(name); id && vocab.types[*id] == TokenType::kControl)
      vocab.end_of_generation.push_back(*id);
}

}  // namespace

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const GgufFile& file) {
  const std::string model = file.get_string(kModelKey);
  if (model == "llama") {
    Vocabulary vocab = read_vocabulary(file, /*scores_required=*/true);
    vocab.bos = read_token_id(file, "tokenizer.ggml.bos_token_id", 1, vocab.size());
    vocab.eos = read_token_id(file, "tokenizer.ggml.eos_token_id", 2, vocab.size());
    vocab.unk = read_token_id(file, "tokenizer.ggml.unknown_token_id", 0, vocab.size());
    collect_end_of_generation(file, vocab);
    const bool add_bos = file.get_bool("tokenizer.ggml.add_bos_token", true);
    const bool add_space_prefix = file.get_bool("tokenizer.ggml.add_space_prefix", true);
    return make_spm_tokenizer(std::move(vocab), add_bos, add_space_prefix);
  }
  if (model == "gpt2") {
    const std::string pre = file.get_string(kPreKey, "default");
    const PretokenizerSpec* spec = find_pretokenizer_spec(pre);
    if (!spec)
      fail(file, kPreKey,
           fmt::format("pre-tokenizer '{}' is not supported (supported: {})", pre,
                       fmt::join(known_pretokenizer_names(), ", ")),
           ErrorCode::kUnsupported);
    Vocabulary vocab = read_vocabulary(file, /*scores_required=*/false);
    vocab.bos = read_token_id(file, "tokenizer.ggml.bos_token_id", -1, vocab.size());
    vocab.eos = read_token_id(file, "tokenizer.ggml.eos_token_id", -1, vocab.size());
    vocab.unk = read_token_id(file, "tokenizer.ggml.unknown_token_id", -1, vocab.size());
    collect_end_of_generation(file, vocab);
    const GgufArray& merge_array = file.get_array(kMergesKey, GgufValueType::STRING);
    std::vector<std::string_view> merges;
    merges.reserve(merge_array.items.size());
    for (const GgufValue& m : merge_array.items) merges.push_back(std::get<std::string_view>(m.v));
    const bool add_bos = file.get_bool("tokenizer.ggml.add_bos_token", spec->add_bos);
    return make_byte_level_bpe_tokenizer(std::move(vocab), merges,
                                         fmt::format("{}: metadata '{}'", file.path(), kMergesKey), *spec, add_bos);
  }
  fail(file, kModelKey, fmt::format("tokenizer model '{}' is not supported (supported: llama, gpt2)", model),
       ErrorCode::kUnsupported);
}

}  // namespace chorus::models
