// Which SIMD instruction sets this CPU (and its OS) supports (CPUID, read
// once), and the kernel paths that can run on it. Which path a model uses is
// its KernelConfig's (kernels/kernel_config.h).
#pragma once

#include <optional>
#include <string_view>

namespace chorus::kernels {

struct CpuFeatures {
  bool avx2 = false;       // AVX2 + FMA + F16C, with the OS saving YMM state
  bool avx512 = false;     // AVX-512 F/BW/VL/DQ, with the OS saving ZMM and opmask state
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
};

enum class KernelPath { kScalar, kAvx2, kAvx512 };

const CpuFeatures& cpu_features();

// True when the CPU can run `path` (the AVX-512 path needs VNNI too).
bool kernel_path_available(KernelPath path);
// The best path the CPU runs.
KernelPath best_kernel_path();
const char* kernel_path_name(KernelPath path);
// "avx512" | "avx2" | "scalar" → the path; nullopt for anything else.
std::optional<KernelPath> parse_kernel_path(std::string_view name);

}  // namespace chorus::kernels
