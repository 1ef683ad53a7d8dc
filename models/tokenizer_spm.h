// SentencePiece-style BPE over GGUF `llama` vocabularies, as llama.cpp runs it.
#pragma once

#include <memory>

#include "models/tokenizer.h"
#include "models/vocabulary.h"

namespace chorus::models {

// add_space_prefix: SentencePiece's add_dummy_prefix (tokenizer.ggml.add_space_prefix).
std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocabulary vocab, bool add_bos, bool add_space_prefix);

}  // namespace chorus::models
