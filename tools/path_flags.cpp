#include "tools/path_flags.h"

#include <filesystem>
#include <string>

#include <fmt/format.h>

namespace chorus::cli {

CLI::Validator output_file() {
  return CLI::Validator(
      [](std::string& path) -> std::string {
        namespace fs = std::filesystem;
        std::error_code ec;
        if (path.empty()) return "the path is empty";
        if (fs::is_directory(path, ec)) return fmt::format("{} is a directory, not a file", path);
        const fs::path parent = fs::path(path).parent_path();
        if (!parent.empty() && !fs::is_directory(parent, ec))
          return fmt::format("{}: the folder {} does not exist", path, parent.string());
        return {};
      },
      "FILE (written)");
}

}  // namespace chorus::cli
