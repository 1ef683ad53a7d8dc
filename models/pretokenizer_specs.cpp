// The regular expressions behind each `tokenizer.ggml.pre` name. They are the
// ones llama.cpp uses (src/llama-vocab.cpp), which follow the Split steps of
// each model's tokenizer.json. Where tokenizer.json writes (?i:'s|'t|...),
// the case-insensitive group is spelled out with ASCII classes as llama.cpp
// does: under Unicode case folding (?i:'s) would also match "'ſ" (U+017F).
#include <utility>

#include "models/pretokenizer.h"

namespace chorus::models {

namespace {

// GPT-2's expression. Its "|\s+" tail is left out because the stretches
// between matches become pieces anyway.
constexpr const char* kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";

constexpr const char* kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// As Llama 3, but digits are cut one by one.
constexpr const char* kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// CJK ideographs, the range U+0800..U+4E00 and Hangul, as DeepSeek writes them.
constexpr const char* kDeepseekCjk = R"([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";

// DeepSeek LLM's letter class: the cased letters (upper, lower, title case) of
// Unicode, written as explicit ranges in its tokenizer.json.
constexpr const char* kDeepseekLetters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF})"
    R"(\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5})"
    R"(\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD})"
    R"(\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15})"
    R"(\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D})"
    R"(\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB})"
    R"(\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D})"
    R"(\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E})"
    R"(\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D})"
    R"(\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06})"
    R"(\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB})"
    R"(\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)";

const PretokenizerSpec& default_spec() {
  static const PretokenizerSpec spec{{R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}, false, false};
  return spec;
}
const PretokenizerSpec& gpt2_spec() {
  static const PretokenizerSpec spec{{kGpt2}, false, false};
  return spec;
}
const PretokenizerSpec& llama3_spec() {
  static const PretokenizerSpec spec{{kLlama3}, true, true};
  return spec;
}
// dbrx and smaug share Llama 3's expression but not its flags.
const PretokenizerSpec& llama3_regex_spec() {
  static const PretokenizerSpec spec{{kLlama3}, false, false};
  return spec;
}
const PretokenizerSpec& qwen2_spec() {
  static const PretokenizerSpec spec{{kQwen2}, false, false};
  return spec;
}
const PretokenizerSpec& deepseek_llm_spec() {
  static const PretokenizerSpec spec{
      {"[\r\n]", kDeepseekLetters, R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)",
       R"(\s+$)", kDeepseekCjk, R"(\p{N}+)"},
      false, false};
  return spec;
}
const PretokenizerSpec& deepseek_coder_spec() {
  static const PretokenizerSpec spec{{"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kDeepseekCjk, R"(\p{N})"}, false, false};
  return spec;
}
const PretokenizerSpec& falcon_spec() {
  static const PretokenizerSpec spec{{R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"}, false, false};
  return spec;
}
// StarCoder and its relatives: digits one by one, then GPT-2's expression.
const PretokenizerSpec& starcoder_spec() {
  static const PretokenizerSpec spec{{R"(\p{N})", kGpt2}, false, false};
  return spec;
}

using SpecGetter = const PretokenizerSpec& (*)();
constexpr std::pair<const char*, SpecGetter> kSpecs[] = {
    {"default", default_spec},
    {"gpt-2", gpt2_spec},
    {"phi-2", gpt2_spec},
    {"mpt", gpt2_spec},
    {"olmo", gpt2_spec},
    {"llama-bpe", llama3_spec},
    {"llama3", llama3_spec},
    {"llama-v3", llama3_spec},
    {"falcon3", llama3_spec},
    {"dbrx", llama3_regex_spec},
    {"smaug-bpe", llama3_regex_spec},
    {"qwen2", qwen2_spec},
    {"stablelm2", qwen2_spec},
    {"deepseek-r1-qwen", qwen2_spec},
    {"deepseek-llm", deepseek_llm_spec},
    {"deepseek-coder", deepseek_coder_spec},
    {"falcon", falcon_spec},
    {"starcoder", starcoder_spec},
    {"refact", starcoder_spec},
    {"smollm", starcoder_spec},
    {"command-r", starcoder_spec},
    {"codeshell", starcoder_spec},
    {"exaone", starcoder_spec},
    {"minerva-7b", starcoder_spec},
};

}  // namespace

const PretokenizerSpec* find_pretokenizer_spec(std::string_view name) {
  for (const auto& [spec_name, getter] : kSpecs)
    if (name == spec_name) return &getter();
  return nullptr;
}

std::vector<std::string> known_pretokenizer_names() {
  std::vector<std::string> names;
  for (const auto& entry : kSpecs) names.emplace_back(entry.first);
  return names;
}

}  // namespace chorus::models
