// chorus::Tokenizer — a model's vocabulary on its own (no weights), and
// chorus::describe_model_file — what a model file holds. Public C++ API.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chorus/export.h"

namespace chorus {

class CHORUS_API Tokenizer {
 public:
  // A GGUF's vocabulary (a model, or a vocabulary-only file such as llama.cpp's
  // ggml-vocab-*.gguf), or a llama2.c checkpoint's tokenizer.bin (`llama2c_tokenizer`,
  // else tokenizer.bin or tok<vocab>.bin beside the checkpoint).
  static Tokenizer open(const std::string& model_path, const std::string& llama2c_tokenizer = "");
  // A byte-level BPE from vocab.txt (one token per line) and merges.txt, with a
  // named pre-tokenizer ("llama-bpe", "qwen2", "gpt2", ...; docs/tokenizers.md).
  static Tokenizer open_vocab_merges(const std::string& vocab_path, const std::string& merges_path,
                                     const std::string& pre_tokenizer = "llama-bpe");
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  std::vector<int32_t> encode(std::string_view text, bool add_bos = true, bool parse_special = false) const;
  std::string decode(std::span<const int32_t> tokens) const;  // throws kInvalidArgument for an id outside
  int32_t vocab_size() const;
  int32_t bos() const;  // -1 when there is none
  int32_t eos() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct DescribeOptions {
  std::string dtype;          // also give each tensor's type when loaded with this dtype ("q8_0", ...)
  bool all_metadata = false;  // metadata arrays in full (else their first 8 items)
};

// A model file as JSON: path, format, architecture, name, config, the layer's
// steps, types by bytes, GGUF metadata, and the tensor table (name, type, shape,
// bytes, offset). Opens the file's header only; throws chorus::Error.
CHORUS_API std::string describe_model_file(const std::string& path, const DescribeOptions& options = {});

}  // namespace chorus
