#include "router/datasets.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"

namespace chorus::router {

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kIo, fmt::format("cannot open {}", path));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

nlohmann::json parse_json(const std::string& text, const std::string& path) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kFormat, fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
}

namespace {

std::string hash_split(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  const uint64_t r = (h >> 17) % 10;
  return r < 8 ? "train" : (r == 8 ? "val" : "test");
}

std::string normalise_split(const std::string& s, const std::string& where) {
  if (s == "train" || s == "oos_train") return "train";
  if (s == "val" || s == "valid" || s == "validation" || s == "dev" || s == "oos_val") return "val";
  if (s == "test" || s == "oos_test") return "test";
  throw Error(ErrorCode::kFormat, fmt::format("{}: unknown split '{}' (train|val|test)", where, s));
}

void add(Dataset& d, const std::string& split, std::string text, std::string label, std::string fine) {
  if (is_ood_label(label)) label = kOodLabel, fine = kOodLabel;
  if (fine.empty()) fine = label;
  d.splits[split].push_back({std::move(text), std::move(label), std::move(fine)});
}

// RFC 4180 CSV: fields separated by commas, optionally quoted with "" escapes.
std::vector<std::vector<std::string>> parse_csv(const std::string& s, const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, any = false;
  size_t line = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < s.size() && s[i + 1] == '"') field.push_back('"'), ++i;
        else quoted = false;
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"') quoted = true, any = true;
    else if (c == ',') row.push_back(std::move(field)), field.clear(), any = true;
    else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      if (any || !field.empty()) row.push_back(std::move(field)), rows.push_back(std::move(row));
      field.clear(), row.clear(), any = false, ++line;
    } else field.push_back(c), any = true;
  }
  if (quoted) throw Error(ErrorCode::kFormat, fmt::format("{}: unterminated quoted field (line {})", path, line));
  if (any || !field.empty()) row.push_back(std::move(field)), rows.push_back(std::move(row));
  return rows;
}

}  // namespace

bool is_ood_label(const std::string& label) { return label == "oos" || label == "ood" || label == "out_of_domain"; }

const std::vector<Example>& Dataset::split(const std::string& name) const {
  static const std::vector<Example> empty;
  auto it = splits.find(name);
  return it == splits.end() ? empty : it->second;
}

bool Dataset::has(const std::string& name) const { return !split(name).empty(); }

LabelMode parse_label_mode(const std::string& s) {
  if (s.empty()) return LabelMode::kDefault;
  if (s == "intent") return LabelMode::kIntent;
  if (s == "domain") return LabelMode::kDomain;
  throw Error(ErrorCode::kInvalidArgument, fmt::format("unknown --labels '{}' (domain|intent)", s));
}

std::string eval_split(const Dataset& d) { return d.has("test") ? "test" : "val"; }

Dataset load_dataset(const std::string& path, const std::string& format, LabelMode labels,
                     const std::string& domains_path) {
  Dataset d;
  const std::string text = read_text(path);
  if (format == "clinc") {
    const nlohmann::json j = parse_json(text, path);
    std::map<std::string, std::string> domain_of;
    if (labels == LabelMode::kDomain) {
      const std::string dp = domains_path.empty()
                                 ? (std::filesystem::path(path).parent_path() / "domains.json").string()
                                 : domains_path;
      const nlohmann::json dj = parse_json(read_text(dp), dp);
      try {
        for (auto& [dom, intents] : dj.items())
          for (auto& in : intents) domain_of[in.get<std::string>()] = dom;
      } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::kFormat, fmt::format("{}: domains map: {}", dp, e.what()));
      }
    }
    if (!j.is_object()) throw Error(ErrorCode::kFormat, fmt::format("{}: CLINC file must be a JSON object", path));
    for (auto& [split, rows] : j.items()) {
      std::string s;
      try {
        s = normalise_split(split, path);
      } catch (const Error&) {
        continue;  // other keys (e.g. oos_* of unknown splits) are ignored
      }
      if (!rows.is_array()) throw Error(ErrorCode::kFormat, fmt::format("{}: split '{}' is not an array", path, split));
      size_t i = 0;
      for (auto& r : rows) {
        if (!r.is_array() || r.size() < 2 || !r[0].is_string() || !r[1].is_string())
          throw Error(ErrorCode::kFormat, fmt::format("{}: {}[{}] is not [text, intent]", path, split, i));
        std::string intent = r[1].get<std::string>();
        std::string label = intent;
        if (labels == LabelMode::kDomain && !is_ood_label(intent)) {
          auto it = domain_of.find(intent);
          if (it == domain_of.end())
            throw Error(ErrorCode::kNotFound, fmt::format("{}: intent '{}' has no domain in domains.json", path, intent));
          label = it->second;
        }
        add(d, s, r[0].get<std::string>(), label, intent);
        ++i;
      }
    }
  } else if (format == "csv") {
    const auto rows = parse_csv(text, path);
    if (rows.empty()) throw Error(ErrorCode::kFormat, fmt::format("{}: empty CSV", path));
    int ti = -1, li = -1, si = -1, fi = -1;
    for (size_t c = 0; c < rows[0].size(); ++c) {
      const auto& h = rows[0][c];
      if (h == "text") ti = static_cast<int>(c);
      else if (h == "label") li = static_cast<int>(c);
      else if (h == "split") si = static_cast<int>(c);
      else if (h == "fine") fi = static_cast<int>(c);
    }
    if (ti < 0 || li < 0) throw Error(ErrorCode::kFormat, fmt::format("{}: CSV header needs 'text' and 'label' columns", path));
    for (size_t r = 1; r < rows.size(); ++r) {
      const auto& row = rows[r];
      const int need = std::max({ti, li, si, fi});
      if (static_cast<int>(row.size()) <= need)
        throw Error(ErrorCode::kFormat, fmt::format("{}: row {} has {} fields, needs {}", path, r + 1, row.size(), need + 1));
      const std::string split = si >= 0 ? normalise_split(row[si], fmt::format("{} row {}", path, r + 1)) : hash_split(row[ti]);
      add(d, split, row[ti], row[li], fi >= 0 ? row[fi] : "");
    }
  } else if (format == "jsonl") {
    std::istringstream in(text);
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      try {
        const auto j = nlohmann::json::parse(line);
        const std::string t = j.at("text").get<std::string>();
        const std::string split = j.contains("split") ? normalise_split(j["split"].get<std::string>(), fmt::format("{}:{}", path, n)) : hash_split(t);
        add(d, split, t, j.at("label").get<std::string>(), j.value("fine", std::string()));
      } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::kFormat, fmt::format("{}:{}: {}", path, n, e.what()));
      }
    }
  } else {
    throw Error(ErrorCode::kInvalidArgument, fmt::format("unknown data format '{}' (clinc|csv|jsonl)", format));
  }
  if (labels == LabelMode::kIntent)  // route on the fine labels
    for (auto& [s, ex] : d.splits)
      for (auto& e : ex) e.category = e.fine;
  return d;
}

void add_ood_examples(Dataset& d, const Dataset& extra) {
  auto& train = d.splits["train"];
  for (const auto& e : extra.split("train")) train.push_back({e.text, std::string(kOodLabel), std::string(kOodLabel)});
}

}  // namespace chorus::router
