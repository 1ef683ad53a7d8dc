// Byte-level BPE (GPT-2 style) with a named regex pre-tokenizer.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/pretokenizer.h"
#include "models/tokenizer.h"
#include "models/vocabulary.h"

namespace chorus::models {

// merges[i] is "left right" (byte-level text) and has rank i: lower ranks
// merge first. Every merge's two halves and their concatenation must be
// tokens, else a kFormat error names `merges_source` and the merge.
std::unique_ptr<Tokenizer> make_byte_level_bpe_tokenizer(Vocabulary vocab, const std::vector<std::string_view>& merges,
                                                         const std::string& merges_source,
                                                         const PretokenizerSpec& pretokenizer, bool add_bos);

}  // namespace chorus::models
