// How a model's kernels run: the SIMD path and how activations meet quantized
// weights. Passed to every dispatching kernel, so two models configured
// differently can run in one process.
#pragma once

#include <optional>
#include <string_view>

#include "kernels/cpu_features.h"

namespace chorus::kernels {

// How activations meet quantized weights (q8_0, q4_0, q4_1, ...): kept in f32
// against dequantized weight rows (matches an f32 reference to rounding);
// quantized to 16-bit blocks for integer dot products (the fast exact mode:
// an element moves by at most 1/32766 of its block's largest; measured, logits
// within 4.4e-4 of the row's largest, docs/kernels.md); or to int8 blocks (fastest; what llama.cpp does, but
// an activation outlier coarsens its whole block: on SmolLM2-135M it moves
// logits by up to ~2 and can flip a greedy choice).
enum class ActivationPrecision { kInt8, kF32, kInt16 };
// "f32" | "int16" | "int8" -> the precision; nullopt for anything else.
std::optional<ActivationPrecision> parse_activation_precision(std::string_view name);
const char* activation_precision_name(ActivationPrecision p);

struct KernelConfig {
  KernelPath path = KernelPath::kScalar;
  ActivationPrecision activations = ActivationPrecision::kF32;
};

// The best path this CPU runs and f32 activations, unless the environment says
// otherwise: CHORUS_KERNEL_PATH=avx512|avx2|scalar, CHORUS_ACTIVATIONS=f32|int16|int8
// (an unknown or unrunnable value is reported on stderr once and ignored).
// Read once.
KernelConfig default_kernel_config();

}  // namespace chorus::kernels
