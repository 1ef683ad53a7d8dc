// Writes seeds for fuzz_use_lite into the folder given as argument: a
// model.json whose manifest has a tensor before the embedding table (so the
// offset walk is exercised), a NUL, then the shard's little-endian float32s;
// and a vocab.json-shaped seed.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

void write(const std::string& dir, const char* name, const std::string& bytes) {
  FILE* f = std::fopen((dir + "/seed-" + name).c_str(), "wb");
  if (!f) return;
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

std::string floats(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    const float v = 0.25f * static_cast<float>(i) - 1.0f;
    char b[4];
    std::memcpy(b, &v, 4);
    out.append(b, 4);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: seed_use_lite DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string manifest = R"({"weightsManifest": [{"paths": ["s"], "weights": [
    {"name": "bias", "shape": [2], "dtype": "float32"},
    {"name": "module/Embeddings_en", "shape": [3, 2], "dtype": "float32"}]}]})";
  write(dir, "manifest", manifest + std::string(1, '\0') + floats(8));
  write(dir, "vocab", R"([["▁the", -3.5], ["<unk>", null], ["é", 0]])");
  return 0;
}
