// A JSON schema (the subset response formats use) as a GBNF grammar whose every
// sentence is a JSON text valid under the schema.
//
// Supported: "type" (one or a list: object, array, string, number, integer,
// boolean, null), "properties" (every listed property is written, in the
// schema's order — "required" is then always met), "items", "enum", "const",
// "anyOf" / "oneOf", and annotations (title, description, ...). An object
// schema without properties, or no type at all, allows any value of that kind.
// Other keywords (pattern, minimum, $ref, ...) are refused by name rather than ignored.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace chorus::serve {

// Throws ApiError (400, param "response_format") naming the unsupported or malformed keyword.
std::string json_schema_to_gbnf(const nlohmann::ordered_json& schema);

}  // namespace chorus::serve
