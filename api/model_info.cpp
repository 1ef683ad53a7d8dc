#include "api/model_info.h"

#include <filesystem>

#include <omp.h>

#include "models/chat_template.h"
#include "models/gguf.h"

namespace chorus::api {

ModelInfo model_info(const runtime::LoadedModel& m, const std::string& path, int32_t context,
                     const RuntimeSettings& settings, const kernels::KernelConfig& kernels) {
  const models::LlamaConfig& c = m.file.config;
  ModelInfo i;
  i.path = path;
  i.architecture = m.file.architecture;
  i.name = m.file.name.empty() ? std::filesystem::path(path).filename().string() : m.file.name;
  i.format = m.file.format;
  i.vocab_size = c.vocab_size;
  i.context_length = c.context_length;
  i.context = context;
  i.n_layers = c.n_layers;
  i.dim = c.dim;
  i.n_heads = c.n_heads;
  i.n_kv_heads = c.n_kv_heads;
  i.head_dim = c.head_dim;
  i.bos = m.tokenizer->bos_id();
  i.eos = m.tokenizer->eos_id();
  i.has_chat_template = m.file.gguf && m.file.gguf->has("tokenizer.chat_template");
  i.chat_format = models::chat_format_name(m.chat.format);
  i.weight_bytes = m.file.tensor_bytes();
  i.kernel_path = kernels::kernel_path_name(kernels.path);
  i.activations = kernels::activation_precision_name(kernels.activations);
  i.threads = settings.threads > 0 ? settings.threads : omp_get_max_threads();
  return i;
}

}  // namespace chorus::api
