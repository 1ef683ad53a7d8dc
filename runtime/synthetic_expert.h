// Llama-shaped GGUF files with made-up weights, for tests and benches that
// need experts of a given size without shipping them. The weights are small
// finite values (the forward pass runs, the text is noise); the file embeds a
// vocabulary of `vocab_size` tokens so that it registers without a tokenizer.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/ggml_types.h"

namespace chorus::runtime {

struct SyntheticExpertShape {
  int32_t dim = 64;
  int32_t hidden_dim = 128;
  int32_t n_layers = 2;
  int32_t n_heads = 4;
  int32_t vocab_size = 64;
  kernels::GgmlType matrix_type = kernels::GgmlType::F32;  // any type kernels::can_quantize takes
};

// An f32 shape (dim 512) whose tensors add up to about `bytes`, at least one layer.
SyntheticExpertShape synthetic_shape_for_bytes(uint64_t bytes);

// Writes the file; the same seed gives the same bytes. Throws chorus::Error (kIo).
void write_synthetic_expert(const std::string& path, const SyntheticExpertShape& shape, uint64_t seed);

}  // namespace chorus::runtime
