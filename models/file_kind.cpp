#include "models/file_kind.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/utf8.h"

namespace chorus::models {

namespace {

// Throws for a missing path or a directory; returns what the path is otherwise.
std::filesystem::file_type existing_non_directory(const std::string& path, std::string_view what) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  const std::string shown = printable(path);
  if (status.type() == std::filesystem::file_type::not_found)
    throw Error(ErrorCode::kNotFound, fmt::format("{}: {}: does not exist", shown, what));
  if (ec) throw Error(ErrorCode::kIo, fmt::format("{}: {}: {}", shown, what, ec.message()));
  if (status.type() == std::filesystem::file_type::directory)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("{}: {}: is a directory, not a file", shown, what));
  return status.type();
}

}  // namespace

void require_regular_file(const std::string& path, std::string_view what) {
  if (existing_non_directory(path, what) != std::filesystem::file_type::regular)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("{}: {}: is not a regular file", printable(path), what));
}

std::string read_whole_file(const std::string& path, std::string_view what) {
  existing_non_directory(path, what);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, fmt::format("{}: {}: cannot open", printable(path), what));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorCode::kIo, fmt::format("{}: {}: read error", printable(path), what));
  return bytes;
}

}  // namespace chorus::models
