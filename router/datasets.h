// Labelled text for training and evaluating a router, from three layouts:
//  - clinc: the CLINC150 JSON layout {split: [[text, intent], ...]} with intent
//    "oos" for out of scope; splits train/val/test and oos_train/oos_val/oos_test
//    are merged into train/val/test. With labels=domain, intents map to domains
//    through domains.json ({domain: [intent, ...]}); the intent stays as the
//    example's fine label.
//  - csv: a header row naming columns text, label and optionally split (and
//    optionally fine); RFC 4180 quoting.
//  - jsonl: one object per line with "text", "label", optional "split", "fine".
// Out-of-domain examples carry the label "oos" (also accepted: "ood",
// "out_of_domain"). Rows without a split are assigned train/val/test 80/10/10 by
// a hash of their text.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace chorus::router {

inline constexpr const char* kOodLabel = "oos";
bool is_ood_label(const std::string& label);

struct Example {
  std::string text;
  std::string category;  // routing label, or "oos"
  std::string fine;      // finer training label (== category when there is none)
  bool ood() const { return is_ood_label(category); }
};

struct Dataset {
  std::map<std::string, std::vector<Example>> splits;  // "train", "val", "test"
  const std::vector<Example>& split(const std::string& name) const;  // empty if absent
  bool has(const std::string& name) const;
};

enum class LabelMode { kDefault, kIntent, kDomain };
LabelMode parse_label_mode(const std::string& s);  // "", "intent", "domain"

// domains_path: for clinc + domain labels; empty = domains.json beside the data file.
Dataset load_dataset(const std::string& path, const std::string& format, LabelMode labels,
                     const std::string& domains_path = "");

// Appends every text of extra's "train" split to d's "train" split as an
// out-of-domain example (extra's labels are ignored).
void add_ood_examples(Dataset& d, const Dataset& extra);

// The split to evaluate on: test if present, else val.
std::string eval_split(const Dataset& d);

// A whole file's bytes; chorus::Error(kIo) naming the file when it cannot be read.
std::string read_text(const std::string& path);
// `text` (the contents of `path`) as JSON; chorus::Error(kFormat) naming the file when it does not parse.
nlohmann::json parse_json(const std::string& text, const std::string& path);

}  // namespace chorus::router
