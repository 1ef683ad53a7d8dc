// chorus inspect --experts experts.json: the registry's experts, what each
// takes in the host and resident tiers, where each is now, and the budgets.
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/json_text.h"
#include "models/utf8.h"
#include "runtime/byte_size.h"
#include "runtime/expert_registry.h"
#include "runtime/weight_store.h"
#include "tools/commands.h"

namespace chorus::cli {

namespace {

nlohmann::json registry_json(const runtime::ExpertRegistry& r) {
  nlohmann::json experts = nlohmann::json::array();
  for (const runtime::ExpertSpec& e : r.experts) {
    const runtime::SamplingParams& s = e.generation.sampling;
    experts.push_back({{"name", e.name},
                       {"model", e.model_path},
                       {"tokenizer", e.tokenizer_path},
                       {"dtype", e.dtype ? kernels::type_name(*e.dtype) : "file"},
                       {"categories", e.categories},
                       {"prompt_template", e.prompt_template},
                       {"generation",
                        {{"max_tokens", e.generation.max_tokens}, {"temperature", s.temperature}, {"top_k", s.top_k},
                         {"top_p", s.top_p}, {"min_p", s.min_p}, {"repetition_penalty", s.repetition_penalty},
                         {"seed", s.seed}}}});
  }
  return {{"path", r.path}, {"experts", experts}, {"fallback", r.fallback_expert},
          {"on_out_of_domain", r.refuse_out_of_domain ? "refuse" : "fallback"}};
}

std::string tiers_of(const runtime::ExpertState& e) {
  std::string t = e.in_resident ? "resident+" : "";
  if (e.in_host) t += "host+";
  return t + "disk";
}

}  // namespace

void print_experts(const std::string& path, bool json) {
  const runtime::ExpertRegistry registry = runtime::load_expert_registry(path);
  const runtime::WeightStore store(registry);
  const runtime::StoreSnapshot s = store.snapshot();
  if (json) {
    nlohmann::json j = registry_json(registry);
    j["store"] = runtime::to_json(s);
    std::puts(models::json_text(j, 2).c_str());
    return;
  }
  // Names, categories and paths come from the config: printed escaped.
  using models::printable;
  fmt::print("config:    {}\n", printable(registry.path));
  fmt::print("resident:  {} of {} used\n", runtime::format_byte_size(s.resident.used), runtime::format_byte_size(s.resident.budget));
  fmt::print("host:      {} of {} used\n", runtime::format_byte_size(s.host.used), runtime::format_byte_size(s.host.budget));
  fmt::print("out of domain: {}{}\n\n", registry.refuse_out_of_domain ? "refuse" : "fallback",
             registry.fallback_expert.empty() ? "" : fmt::format(" (fallback expert '{}')", printable(registry.fallback_expert)));
  fmt::print("{:<16} {:<8} {:>12} {:>12} {:<20} {:<24} {}\n", "expert", "dtype", "host", "resident", "tiers",
             "categories", "model");
  for (size_t i = 0; i < s.experts.size(); ++i) {
    const runtime::ExpertState& e = s.experts[i];
    const bool fits = e.resident_bytes <= s.resident.budget;
    fmt::print("{:<16} {:<8} {:>12} {:>12} {:<20} {:<24} {}\n", printable(e.name), e.resident_type,
               runtime::format_byte_size(e.host_bytes), runtime::format_byte_size(e.resident_bytes),
               tiers_of(e) + (fits ? "" : " (too big)"), printable(fmt::format("{}", fmt::join(registry.experts[i].categories, ","))),
               printable(e.model_path));
  }
}

}  // namespace chorus::cli
