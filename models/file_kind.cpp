#include "models/file_kind.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/utf8.h"

namespace chorus::models {

void require_regular_file(const std::string& path, std::string_view what) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  const std::string shown = printable(path);
  if (status.type() == std::filesystem::file_type::not_found)
    throw Error(ErrorCode::kNotFound, fmt::format("{}: {}: does not exist", shown, what));
  if (ec) throw Error(ErrorCode::kIo, fmt::format("{}: {}: {}", shown, what, ec.message()));
  if (status.type() == std::filesystem::file_type::directory)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("{}: {}: is a directory, not a file", shown, what));
  if (status.type() != std::filesystem::file_type::regular)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("{}: {}: is not a regular file", shown, what));
}

std::string read_whole_file(const std::string& path, std::string_view what) {
  require_regular_file(path, what);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, fmt::format("{}: {}: cannot open", printable(path), what));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorCode::kIo, fmt::format("{}: {}: read error", printable(path), what));
  return bytes;
}

}  // namespace chorus::models
