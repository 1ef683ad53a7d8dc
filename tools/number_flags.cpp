#include "tools/number_flags.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "api/model_options.h"
#include "chorus/error.h"
#include "runtime/byte_size.h"

namespace chorus::cli {

namespace {

// "" when the text is a whole number (stored in value), else why not.
std::string parse_integer(const std::string& text, int64_t& value) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc() && ptr == end) return {};
  if (ec == std::errc::result_out_of_range) return fmt::format("{} is out of range", text);
  char* real_end = nullptr;
  const double real = std::strtod(text.c_str(), &real_end);
  if (!text.empty() && real_end == text.c_str() + text.size() && std::isfinite(real))
    return fmt::format("{} is not a whole number", text);
  return fmt::format("{} is not a number", text);
}

}  // namespace

CLI::Validator integer_in(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        int64_t v = 0;
        std::string why = parse_integer(text, v);
        if (why.ends_with("out of range") || (why.empty() && (v < lo || v > hi)))
          return fmt::format("{} is out of range: {} to {}", text, lo, hi);
        return why;
      },
      fmt::format("INT in {}..{}", lo, hi));
}

CLI::Validator non_negative_integer() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        uint64_t v = 0;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, v);
        if (ec == std::errc() && ptr == end) return {};
        int64_t s = 0;
        const std::string why = parse_integer(text, s);
        if (why.empty() || why.ends_with("out of range"))
          return fmt::format("{} is out of range: 0 to {}", text, UINT64_MAX);
        return why;
      },
      "INT >= 0");
}

CLI::Validator real_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size()) return fmt::format("{} is not a number", text);
        if (!std::isfinite(v) || v < lo || v > hi) return fmt::format("{} is out of range: {} to {}", text, lo, hi);
        return {};
      },
      fmt::format("NUMBER in {}..{}", lo, hi));
}

CLI::Validator byte_size_in(uint64_t lo, uint64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        uint64_t bytes = 0;
        try {
          bytes = runtime::parse_byte_size(text, text);
        } catch (const Error& e) {
          return e.what();
        }
        if (bytes < lo || bytes > hi)
          return fmt::format("{} is out of range: {} to {}", text, runtime::format_byte_size(lo), runtime::format_byte_size(hi));
        return {};
      },
      "SIZE");
}

int max_threads() { return api::max_threads(); }

}  // namespace chorus::cli
