// libFuzzer target for the use-lite reader (router/use_lite): any input must
// either read or throw chorus::Error. The reader takes a model directory, so
// the input becomes files in a private temporary folder (on /dev/shm when it
// exists). The input is split at its first NUL byte: before it model.json,
// after it the bytes of the shard file "s"; the model.json text is also read
// as a vocab.json.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "chorus/error.h"
#include "router/use_lite.h"

namespace {

// The private folder, made once per process and removed at exit.
const std::string& work_dir() {
  static const std::string dir = [] {
    std::string tmpl = (std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp") + std::string("/chorus-fuzz-use-lite-XXXXXX");
    if (!::mkdtemp(tmpl.data())) std::abort();  // the harness is broken, not the reader
    return tmpl;
  }();
  static const bool cleanup = [] { return std::atexit([] { std::filesystem::remove_all(work_dir()); }) == 0; }();
  (void)cleanup;
  return dir;
}

void write_file(const std::string& path, std::string_view bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
  std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t split = std::min(all.find('\0'), all.size());
  const std::string& dir = work_dir();
  write_file(dir + "/model.json", all.substr(0, split));
  write_file(dir + "/s", split < all.size() ? all.substr(split + 1) : std::string_view{});
  try {
    chorus::router::read_tfjs_tensor(dir, chorus::router::kUseLiteEmbeddingName);
  } catch (const chorus::Error&) {
  }
  try {
    chorus::router::read_use_lite_vocab(dir + "/model.json");
  } catch (const chorus::Error&) {
  }
  return 0;
}
