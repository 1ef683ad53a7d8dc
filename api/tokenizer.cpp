// chorus::Tokenizer: the vocabularies `chorus tokenize` reads, without a model's weights.
#include "chorus/tokenizer.h"

#include <array>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "api/prompt.h"
#include "chorus/error.h"
#include "models/gguf.h"
#include "models/model_file.h"
#include "models/tokenizer.h"
#include "runtime/llama2c_tokenizer_path.h"

namespace chorus {

namespace {

bool is_gguf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<char, 4> magic{};
  return in.read(magic.data(), magic.size()) && std::memcmp(magic.data(), "GGUF", 4) == 0;
}

}  // namespace

struct Tokenizer::Impl {
  std::unique_ptr<models::Tokenizer> tokenizer;
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::open(const std::string& model_path, const std::string& llama2c_tokenizer) {
  auto impl = std::make_unique<Impl>();
  if (is_gguf(model_path)) {
    if (!llama2c_tokenizer.empty())
      throw Error(ErrorCode::kInvalidArgument,
                  fmt::format("{}: a GGUF file has its own vocabulary; a tokenizer.bin is for llama2.c checkpoints",
                              model_path));
    const models::GgufFile file(model_path);
    impl->tokenizer = models::load_gguf_tokenizer(file);
  } else {
    const models::ModelFile checkpoint = models::open_model_file(model_path);
    const std::string path =
        llama2c_tokenizer.empty() ? runtime::find_llama2c_tokenizer(checkpoint) : llama2c_tokenizer;
    impl->tokenizer = models::load_llama2c_tokenizer(path, checkpoint.config.vocab_size);
  }
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::open_vocab_merges(const std::string& vocab_path, const std::string& merges_path,
                                       const std::string& pre_tokenizer) {
  auto impl = std::make_unique<Impl>();
  impl->tokenizer = models::load_vocab_merges_tokenizer(vocab_path, merges_path, pre_tokenizer);
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  return impl_->tokenizer->encode(text, add_bos, parse_special);
}

std::string Tokenizer::decode(std::span<const int32_t> tokens) const {
  api::check_token_ids(tokens, vocab_size());
  return impl_->tokenizer->decode(tokens);
}

int32_t Tokenizer::vocab_size() const { return impl_->tokenizer->vocab_size(); }
int32_t Tokenizer::bos() const { return impl_->tokenizer->bos_id(); }
int32_t Tokenizer::eos() const { return impl_->tokenizer->eos_id(); }

}  // namespace chorus
