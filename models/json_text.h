// JSON text from a document that may hold strings from files or users: bytes
// that are not valid UTF-8 become U+FFFD instead of nlohmann's type_error.316
// (an abort with nothing printed). Every JSON chorus writes goes through here.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace chorus::models {

// indent < 0: one line; otherwise pretty-printed with that many spaces.
std::string json_text(const nlohmann::json& j, int indent = -1);

}  // namespace chorus::models
