#include "kernels/cpu_features.h"

#include <cpuid.h>

#include <cstdint>

namespace chorus::kernels {

namespace {

uint64_t read_xcr0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & bit_OSXSAVE, fma = c & bit_FMA, f16c = c & bit_F16C;
  if (!osxsave) return f;
  const uint64_t xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;     // SSE + AVX state
  const bool os_zmm = (xcr0 & 0xE6) == 0xE6;   // + opmask, ZMM_Hi256, Hi16_ZMM
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = os_ymm && fma && f16c && (b & bit_AVX2);
  f.avx512 = f.avx2 && os_zmm && (b & bit_AVX512F) && (b & bit_AVX512BW) && (b & bit_AVX512VL) &&
             (b & bit_AVX512DQ);
  f.avx512_vnni = f.avx512 && (c & bit_AVX512VNNI);
  __cpuid_count(7, 1, a, b, c, d);
  f.avx512_bf16 = f.avx512 && (a & bit_AVX512BF16);
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

bool kernel_path_available(KernelPath path) {
  const CpuFeatures& f = cpu_features();
  switch (path) {
    case KernelPath::kScalar: return true;
    case KernelPath::kAvx2: return f.avx2;
    case KernelPath::kAvx512: return f.avx512 && f.avx512_vnni;
  }
  return false;
}

KernelPath best_kernel_path() {
  if (kernel_path_available(KernelPath::kAvx512)) return KernelPath::kAvx512;
  if (kernel_path_available(KernelPath::kAvx2)) return KernelPath::kAvx2;
  return KernelPath::kScalar;
}

const char* kernel_path_name(KernelPath path) {
  switch (path) {
    case KernelPath::kScalar: return "scalar";
    case KernelPath::kAvx2: return "avx2";
    case KernelPath::kAvx512: return "avx512";
  }
  return "unknown";
}

std::optional<KernelPath> parse_kernel_path(std::string_view name) {
  if (name == "scalar") return KernelPath::kScalar;
  if (name == "avx2") return KernelPath::kAvx2;
  if (name == "avx512") return KernelPath::kAvx512;
  return std::nullopt;
}

}  // namespace chorus::kernels
