// Where `chorus` finds the repository's small real files (fixtures/, see
// fixtures/README.md): the Llama 2 vocabulary `chorus synth` embeds, the
// tokenizer `chorus bench tiers` gives its synthetic experts.
#pragma once

#include <filesystem>
#include <string>

namespace chorus::cli {

// The folder of the running chorus program (the current folder when /proc is not there).
std::filesystem::path executable_dir();

// fixtures/<relative>, from the first of: $CHORUS_FIXTURE_DIR; fixtures/ beside
// the build folder (<repo>/build/chorus -> <repo>/fixtures); an installed copy
// (<prefix>/bin/chorus -> <prefix>/share/chorus/fixtures); the source tree this
// program was built from. When none holds the file, the last (so that the
// error names a path).
std::string fixture_path(const std::string& relative);

// --router's value, else the build's (or the installed) default router; "" when
// there is none (nodes that need routing by text then fail and say so).
std::string router_path(const std::string& flag);

}  // namespace chorus::cli
