// Where an expert's tensors live in the host and resident tiers.
//
// The host copy is the span of the file from the first tensor byte to the
// last, as stored. The resident copy is the same bytes when no tensor changes
// type (then host→resident is one memcpy and disk→resident one read), else
// every tensor packed at 64-byte alignment in its resident type.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "kernels/ggml_types.h"
#include "models/model_file.h"

namespace chorus::runtime {

struct TensorPlacement {
  uint64_t host_offset;  // within the host copy
  uint64_t host_bytes;
  kernels::GgmlType resident_type;
  uint64_t resident_offset;  // within the resident copy
  uint64_t resident_bytes;
};

struct ExpertLayout {
  uint64_t file_offset = 0;  // where the host copy starts in the file
  uint64_t host_bytes = 0;
  uint64_t resident_bytes = 0;
  bool converts = false;  // some tensor changes type on the way to resident
  std::vector<TensorPlacement> tensors;  // in the order of ModelFile::tensors
};

// With a dtype, the 2-D f32/f16/bf16 tensors whose rows fill whole blocks of
// it convert; the others (norms, odd row lengths, quantized types) keep theirs.
ExpertLayout plan_expert_layout(const models::ModelFile& file, std::optional<kernels::GgmlType> dtype);

// A copy of `file` whose tensors are the resident copy at `base`, in their resident types.
models::ModelFile resident_view(const models::ModelFile& file, const ExpertLayout& layout, const uint8_t* base);

}  // namespace chorus::runtime
