#include "kernels/kernel_config.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace chorus::kernels {

namespace {

// An environment value as printable ASCII (anything else as \xNN).
std::string printable(const char* s) {
  std::string out;
  for (; *s; ++s) {
    const auto c = static_cast<unsigned char>(*s);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

KernelPath path_from_env() {
  const char* env = std::getenv("CHORUS_KERNEL_PATH");
  if (env && *env) {
    const auto p = parse_kernel_path(env);
    if (p && kernel_path_available(*p)) return *p;
    std::fprintf(stderr, "chorus: CHORUS_KERNEL_PATH=%s is unknown or not supported by this CPU; using %s\n",
                 printable(env).c_str(),
                 kernel_path_name(best_kernel_path()));
  }
  return best_kernel_path();
}

ActivationPrecision activations_from_env() {
  const char* env = std::getenv("CHORUS_ACTIVATIONS");
  if (env && *env) {
    if (const auto p = parse_activation_precision(env)) return *p;
    std::fprintf(stderr, "chorus: CHORUS_ACTIVATIONS=%s is unknown (f32, int16 or int8); using f32\n",
                 printable(env).c_str());
  }
  return ActivationPrecision::kF32;
}

}  // namespace

std::optional<ActivationPrecision> parse_activation_precision(std::string_view name) {
  if (name == "f32") return ActivationPrecision::kF32;
  if (name == "int16") return ActivationPrecision::kInt16;
  if (name == "int8") return ActivationPrecision::kInt8;
  return std::nullopt;
}

const char* activation_precision_name(ActivationPrecision p) {
  switch (p) {
    case ActivationPrecision::kInt8: return "int8";
    case ActivationPrecision::kInt16: return "int16";
    case ActivationPrecision::kF32: break;
  }
  return "f32";
}

KernelConfig default_kernel_config() {
  static const KernelConfig config{path_from_env(), activations_from_env()};
  return config;
}

}  // namespace chorus::kernels
