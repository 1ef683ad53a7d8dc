#include "runtime/expert_layout.h"

#include <algorithm>

#include "kernels/matmul.h"
#include "kernels/quantize.h"

namespace chorus::runtime {

namespace {

constexpr uint64_t kResidentAlignment = 64;  // a cache line, and enough for every kernel's loads

bool converts_to(const models::TensorInfo& t, kernels::GgmlType dtype) {
  using kernels::GgmlType;
  const bool float_source = t.type == GgmlType::F32 || t.type == GgmlType::F16 || t.type == GgmlType::BF16;
  return float_source && t.type != dtype && t.dims.size() == 2 && kernels::can_quantize(dtype) &&
         kernels::matmul_supports(dtype) && t.dims[0] % kernels::type_traits(static_cast<uint32_t>(dtype))->block_elems == 0;
}

}  // namespace

ExpertLayout plan_expert_layout(const models::ModelFile& file, std::optional<kernels::GgmlType> dtype) {
  ExpertLayout layout;
  if (file.tensors.empty()) return layout;
  uint64_t begin = UINT64_MAX, end = 0;
  for (const models::TensorInfo& t : file.tensors) {
    begin = std::min(begin, t.file_offset);
    end = std::max(end, t.file_offset + t.bytes);
  }
  layout.file_offset = begin;
  layout.host_bytes = end - begin;

  uint64_t packed = 0;
  for (const models::TensorInfo& t : file.tensors) {
    TensorPlacement p{t.file_offset - begin, t.bytes, t.type, 0, t.bytes};
    if (dtype && converts_to(t, *dtype)) {
      p.resident_type = *dtype;
      p.resident_bytes = kernels::row_bytes(*dtype, t.dims[0]) * static_cast<uint64_t>(t.dims[1]);
      layout.converts = true;
    }
    p.resident_offset = packed;
    packed = (packed + p.resident_bytes + kResidentAlignment - 1) / kResidentAlignment * kResidentAlignment;
    layout.tensors.push_back(p);
  }
  if (layout.converts) {
    layout.resident_bytes = packed;
  } else {  // same bytes, same places
    for (TensorPlacement& p : layout.tensors) p.resident_offset = p.host_offset;
    layout.resident_bytes = layout.host_bytes;
  }
  return layout;
}

models::ModelFile resident_view(const models::ModelFile& file, const ExpertLayout& layout, const uint8_t* base) {
  models::ModelFile view = file;
  for (size_t i = 0; i < view.tensors.size(); ++i) {
    const TensorPlacement& p = layout.tensors[i];
    view.tensors[i].type = p.resident_type;
    view.tensors[i].bytes = p.resident_bytes;
    view.tensors[i].data = base + p.resident_offset;
  }
  return view;
}

}  // namespace chorus::runtime
