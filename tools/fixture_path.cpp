#include "tools/fixture_path.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace chorus::cli {

std::string fixture_path(const std::string& relative) {
  namespace fs = std::filesystem;
  std::vector<fs::path> roots;
  if (const char* env = std::getenv("CHORUS_FIXTURE_DIR"); env && *env) roots.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    roots.push_back(exe.parent_path() / "../fixtures");
    roots.push_back(exe.parent_path() / "../share/chorus/fixtures");
  }
  roots.emplace_back(CHORUS_SOURCE_FIXTURE_DIR);
  for (const auto& root : roots)
    if (fs::exists(root / relative, ec)) return (root / relative).lexically_normal().string();
  return (roots.back() / relative).lexically_normal().string();
}

}  // namespace chorus::cli
