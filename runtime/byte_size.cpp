#include "runtime/byte_size.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::runtime {

uint64_t parse_byte_size(std::string_view text, std::string_view what) {
  auto bad = [&](const char* why) -> uint64_t {
    throw Error(ErrorCode::kInvalidArgument, fmt::format("{}: '{}' is not a byte size: {}", what, text, why));
  };
  size_t pos = 0;
  while (pos < text.size() && (std::isdigit(static_cast<unsigned char>(text[pos])) || text[pos] == '.')) ++pos;
  if (pos == 0) return bad("it must start with a number");
  double number = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + pos, number);
  if (ec != std::errc() || end != text.data() + pos) return bad("the number is malformed");
  std::string_view unit = text.substr(pos);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);

  static constexpr std::array<std::pair<std::string_view, double>, 11> kUnits = {{
      {"", 1.0}, {"B", 1.0}, {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
      {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}}};
  for (const auto& [name, scale] : kUnits) {
    if (unit != name) continue;
    const double bytes = std::round(number * scale);
    if (!(bytes < 18446744073709551616.0)) return bad("it is too large");
    return static_cast<uint64_t>(bytes);
  }
  return bad("the unit must be one of B, kB, MB, GB, TB, KiB, MiB, GiB, TiB");
}

std::string format_byte_size(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  static constexpr std::array<const char*, 4> kUnits = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (v >= 1024.0 && unit + 1 < kUnits.size()) {
    v /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.1f} {}", v, kUnits[unit]);
}

}  // namespace chorus::runtime
