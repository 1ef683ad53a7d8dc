// Writes small valid router files into the folder given as argument: seeds for
// fuzz_router_file in both of its modes (first byte even: the file as is;
// odd: u16 metadata length + metadata + payload, wrapped in a fresh header).
#include <cstdio>
#include <string>
#include <vector>

#include "chorus/error.h"
#include "router/router_file.h"

using namespace chorus::router;

namespace {

RouterModel tiny(ModelKind kind, bool ood_class) {
  FeatureConfig fc;
  fc.dim = 256;
  fc.char_max = 3;
  RouterModel m;
  m.features = Featurizer(fc);
  m.kind = kind;
  m.labels = {"weather", "banking"};
  m.categories = {"banking", "weather"};
  m.label_category = {1, 0};
  if (ood_class) {
    m.labels.push_back("oos");
    m.label_category.push_back(-1);
  }
  const auto n = static_cast<uint32_t>(m.labels.size());
  if (kind == ModelKind::kWideMLP) m.mlps.emplace_back().init(fc.dim, 4, n, 7);
  else {
    auto& linear = m.linears.emplace_back();
    linear.init(fc.dim, n);
    for (size_t i = 0; i < linear.w.size(); ++i) linear.w[i] = 0.01f * static_cast<float>(i % 7);
  }
  m.guard.score = ood_class ? GuardScore::kMargin : GuardScore::kMaxProb;
  m.guard.threshold = 0.25f;
  return m;
}

bool write(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  int i = 0;
  for (auto kind : {ModelKind::kWideMLP, ModelKind::kLinear})
    for (bool ood : {false, true}) {
      const auto bytes = serialize_router(tiny(kind, ood));
      std::vector<uint8_t> file{0};
      file.insert(file.end(), bytes.begin(), bytes.end());
      uint64_t meta_len = 0;
      for (int k = 0; k < 8; ++k) meta_len |= static_cast<uint64_t>(bytes[16 + k]) << (8 * k);
      if (meta_len > 0xFFFF) return 1;
      std::vector<uint8_t> wrapped{1, static_cast<uint8_t>(meta_len & 0xFF), static_cast<uint8_t>(meta_len >> 8)};
      wrapped.insert(wrapped.end(), bytes.begin() + kRouterHeaderSize, bytes.end());
      if (!write(dir + "/router-" + std::to_string(i) + ".file", file) ||
          !write(dir + "/router-" + std::to_string(i) + ".wrapped", wrapped)) {
        std::fprintf(stderr, "cannot write seeds into %s\n", dir.c_str());
        return 1;
      }
      ++i;
    }
  return 0;
}
