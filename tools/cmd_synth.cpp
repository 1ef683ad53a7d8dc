// chorus synth: a GGUF of a real model shape with deterministic random weights.
#include <cstdio>

#include <fmt/format.h>

#include "chorus/error.h"
#include "kernels/ggml_types.h"
#include "models/synthetic_model.h"
#include "tools/commands.h"
#include "tools/path_flags.h"
#include "tools/fixture_path.h"
#include "tools/number_flags.h"

namespace chorus::cli {

namespace {

struct SynthOptions {
  std::string preset, dtype = "q8_0", out, tokenizer = fixture_path("tokenizers/llama2/tokenizer.bin");
  uint64_t seed = 1;
};

kernels::GgmlType parse_dtype(const std::string& s) {
  for (auto t : {kernels::GgmlType::F32, kernels::GgmlType::F16, kernels::GgmlType::BF16, kernels::GgmlType::Q8_0,
                 kernels::GgmlType::Q4_0, kernels::GgmlType::Q4_1})
    if (s == kernels::type_name(t)) return t;
  throw Error(ErrorCode::kInvalidArgument, fmt::format("--dtype {}: use f32, f16, bf16, q8_0, q4_0 or q4_1", s));
}

int run_synth(const SynthOptions& o) {
  const auto& preset = models::find_synthetic_preset(o.preset);
  const uint64_t bytes = models::write_synthetic_model(preset, parse_dtype(o.dtype), o.tokenizer, o.seed, o.out);
  std::fprintf(stderr, "wrote %s: %s, %s, %.1f MiB\n", o.out.c_str(), preset.name.c_str(), o.dtype.c_str(),
               bytes / 1048576.0);
  return 0;
}

}  // namespace

void register_synth(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SynthOptions>();
  std::string presets;
  for (const auto& p : models::synthetic_presets()) presets += (presets.empty() ? "" : ", ") + p.name;
  auto* cmd = app.add_subcommand("synth", "Write a GGUF model of a real shape with deterministic random weights");
  cmd->add_option("--preset", o->preset, "Model shape: " + presets)->required();
  cmd->add_option("--dtype", o->dtype, "Weight type: f32, f16, bf16, q8_0, q4_0, q4_1")->capture_default_str();
  cmd->add_option("--out,-o", o->out, "Output .gguf path")->required()->check(output_file());
  cmd->add_option("--seed", o->seed, "Weight seed")->capture_default_str()->check(non_negative_integer());
  cmd->add_option("--tokenizer", o->tokenizer, "llama2.c tokenizer.bin whose 32000-token vocabulary is embedded")
      ->check(CLI::ExistingFile)
      ->capture_default_str()->check(CLI::ExistingFile);
  cmd->callback([o, &exit_code] { exit_code = run_synth(*o); });
}

}  // namespace chorus::cli
