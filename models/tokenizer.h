// Tokenizers: text <-> token ids. Implementations: SentencePiece-style BPE
// (llama2.c tokenizer.bin, GGUF `llama` vocabularies) and byte-level BPE
// (GGUF `gpt2` vocabularies, vocab.txt + merges.txt) with named pre-tokenizers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/byte_range.h"

namespace chorus::models {

class GgufFile;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Encodes text; special/control tokens written literally in the text (e.g. "<|im_start|>")
  // are recognised when parse_special is true. add_bos prepends BOS when the vocabulary has one.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special = true) const = 0;
  // Encodes text in which control tokens are recognised only inside special_ranges (sorted byte
  // ranges, e.g. a chat template's own markup); user-defined tokens everywhere, as encode does.
  virtual std::vector<int32_t> encode_with_special_ranges(std::string_view text, bool add_bos,
                                                          std::span<const ByteRange> special_ranges) const = 0;
  // The bytes a token stands for ("▁" becomes a space, byte tokens become their byte,
  // byte-level BPE symbols become their bytes). Control tokens give their text.
  virtual std::string token_to_piece(int32_t id) const = 0;
  // Concatenated pieces; drops EOS, the BOS that encode adds (see adds_bos) and the leading space a
  // space-prefixing vocabulary added. Throws chorus::Error for an id outside the vocabulary.
  virtual std::string decode(std::span<const int32_t> ids) const = 0;

  virtual int32_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;   // -1 when there is none
  virtual int32_t eos_id() const = 0;   // -1 when there is none
  // True when encode(text, add_bos = true) puts BOS first: the vocabulary has a BOS and asks for
  // it (GGUF tokenizer.ggml.add_bos_token; SmolLM2, for one, says no).
  virtual bool adds_bos() const = 0;
  // True for ids that end a generation (EOS, EOT, <|im_end|> and similar control tokens).
  virtual bool is_end_of_generation(int32_t id) const = 0;
  // True for ids that stand for no text of their own: control, unknown and unused
  // tokens, BOS, EOS and UNK (a grammar-constrained sampler never lets them through as text).
  virtual bool is_control(int32_t id) const = 0;
  // True when encode() adds a leading space (SentencePiece "add_dummy_prefix").
  virtual bool adds_space_prefix() const = 0;
  // Exact lookup of a token's text as stored in the vocabulary.
  virtual std::optional<int32_t> find_token(std::string_view text) const = 0;
};

// From GGUF metadata (tokenizer.ggml.*); throws chorus::Error naming the file and key.
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const GgufFile& file);
// llama2.c tokenizer.bin; vocab_size comes from the checkpoint header.
std::unique_ptr<Tokenizer> load_llama2c_tokenizer(const std::string& path, int32_t vocab_size);
// The same from the file's bytes; `name` stands for the file in error messages.
std::unique_ptr<Tokenizer> load_llama2c_tokenizer(std::span<const uint8_t> bytes, int32_t vocab_size,
                                                  const std::string& name);
// Byte-level BPE from vocab.txt (one token per line, id = line index) and merges.txt,
// with the pre-tokenizer named as in tokenizer.ggml.pre (e.g. "llama-bpe").
std::unique_ptr<Tokenizer> load_vocab_merges_tokenizer(const std::string& vocab_path, const std::string& merges_path,
                                                       const std::string& pre);

}  // namespace chorus::models
