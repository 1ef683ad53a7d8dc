#include "tools/fixture_path.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace chorus::cli {

std::filesystem::path executable_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path() : exe.parent_path();
}

std::string fixture_path(const std::string& relative) {
  namespace fs = std::filesystem;
  std::vector<fs::path> roots;
  if (const char* env = std::getenv("CHORUS_FIXTURE_DIR"); env && *env) roots.emplace_back(env);
  const fs::path exe_dir = executable_dir();
  roots.push_back(exe_dir / "../fixtures");
  roots.push_back(exe_dir / "../share/chorus/fixtures");
  roots.emplace_back(CHORUS_SOURCE_FIXTURE_DIR);
  std::error_code ec;
  for (const auto& root : roots)
    if (fs::exists(root / relative, ec)) return (root / relative).lexically_normal().string();
  return (roots.back() / relative).lexically_normal().string();
}

std::string router_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  for (const auto& p : {executable_dir() / "default_router.bin", executable_dir() / "../share/chorus/default_router.bin"})
    if (std::filesystem::exists(p)) return p.lexically_normal().string();
  return "";
}

}  // namespace chorus::cli
