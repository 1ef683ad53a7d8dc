#include "runtime/loaded_model.h"

#include <filesystem>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/gguf.h"
#include "models/llama_weights.h"
#include "runtime/expert_layout.h"
#include "runtime/llama2c_tokenizer_path.h"

namespace chorus::runtime {

LoadedModel load_model(const std::string& model_path, const std::string& tokenizer_path,
                       std::optional<kernels::GgmlType> dtype, const kernels::KernelConfig& kernels) {
  LoadedModel m;
  m.file = models::open_model_file(model_path);
  models::require_architecture(m.file);  // before the tokenizer, whose size check would mislead
  const bool embedded = m.file.gguf && m.file.gguf->has("tokenizer.ggml.model");
  if (!tokenizer_path.empty() || !embedded) {
    const std::string tok = tokenizer_path.empty() ? find_llama2c_tokenizer(m.file) : tokenizer_path;
    m.tokenizer = models::load_llama2c_tokenizer(tok, m.file.config.vocab_size);
  } else {
    m.tokenizer = models::load_gguf_tokenizer(*m.file.gguf);
    const bool spm = m.file.gguf->get_string("tokenizer.ggml.model") == "llama";
    m.add_bos = m.file.gguf->get_bool("tokenizer.ggml.add_bos_token", spm);
    m.chat = models::detect_chat_template(m.file.gguf->get_string("tokenizer.chat_template", ""));
  }
  if (m.tokenizer->vocab_size() != m.file.config.vocab_size)
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("{}: the tokenizer has {} tokens but the model's vocabulary is {}: they do not belong together",
                            tokenizer_path.empty() ? model_path : tokenizer_path, m.tokenizer->vocab_size(),
                            m.file.config.vocab_size));
  if (dtype) {
    const ExpertLayout layout = plan_expert_layout(m.file, dtype);
    ExpertSpec spec;
    spec.name = "model";
    spec.model_path = model_path;
    spec.tokenizer_path = tokenizer_path;
    spec.dtype = dtype;
    m.store = std::make_unique<WeightStore>(std::vector<ExpertSpec>{spec},
                                            StoreBudgets{layout.resident_bytes, layout.host_bytes});
    m.pin = m.store->pin("model");
    m.weights = m.pin.weights();
  } else {
    m.weights = models::bind_llama_weights(m.file);
  }
  m.model = std::make_unique<models::LlamaModel>(m.file.config, kernels);
  return m;
}

}  // namespace chorus::runtime
