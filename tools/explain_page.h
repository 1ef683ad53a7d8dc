// The page `chorus explain --html` writes: one self-contained HTML file (inline
// CSS and JavaScript, no network) that draws the explanation's JSON.
#pragma once

#include <string>

namespace chorus::cli {

// The page with `json` (explain's JSON with the attention maps) embedded.
std::string explain_page(const std::string& json);

}  // namespace chorus::cli
