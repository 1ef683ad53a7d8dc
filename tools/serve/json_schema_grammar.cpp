#include "tools/serve/json_schema_grammar.h"

#include <fmt/format.h>

#include "tools/serve/api_error.h"

namespace chorus::serve {

namespace {

using json = nlohmann::ordered_json;  // a schema's properties in the order written

// The rules every grammar shares. Whitespace is bounded (a newline and at most
// eight spaces, or one space) so that a small model cannot pad forever.
constexpr const char* kBaseRules = R"(ws      ::= ( " " | "\n" ( " " ( " " ( " " ( " " ( " " ( " " ( " " " "? )? )? )? )? )? )? )? )?
value   ::= object | array | string | number | boolean | null
object  ::= "{" ws ( member ( ws "," ws member )* ws )? "}"
member  ::= string ws ":" ws value
array   ::= "[" ws ( value ( ws "," ws value )* ws )? "]"
string  ::= "\"" ( [^"\\\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" hex hex hex hex ) )* "\""
hex     ::= [0-9a-fA-F]
number  ::= integer ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )?
integer ::= "-"? ( "0" | [1-9] [0-9]* )
boolean ::= "true" | "false"
null    ::= "null"
)";

[[noreturn]] void refuse(const std::string& message) { throw ApiError(400, "response_format: " + message, "response_format"); }

// A GBNF literal matching exactly `text`.
std::string literal(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') out += fmt::format("\\{}", static_cast<char>(c));
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02X}", c);
    else out += static_cast<char>(c);
  }
  return out + "\"";
}

// JSON text of a value from the request (invalid UTF-8 as U+FFFD, never an exception).
std::string dumped(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

class Converter {
 public:
  std::string grammar(const json& schema) {
    const std::string top = rule_for(schema, "schema");
    return "root    ::= ws " + top + " ws\n" + kBaseRules + rules_;
  }

 private:
  // The name of a rule (or a base rule) matching `schema`; `where` names it in errors.
  // Nesting is bounded: each level is a stack frame here.
  std::string rule_for(const json& schema, const std::string& where) {
    if (depth_ == kMaxDepth) refuse(fmt::format("{}: the schema is nested deeper than {} levels", where, kMaxDepth));
    ++depth_;
    std::string rule = rule_at_level(schema, where);
    --depth_;
    return rule;
  }

  std::string rule_at_level(const json& schema, const std::string& where) {
    if (schema.is_boolean()) {
      if (schema.get<bool>()) return "value";
      refuse(where + ": the schema false allows nothing");
    }
    if (!schema.is_object()) refuse(where + " must be an object");
    for (const auto& [key, v] : schema.items()) {
      static const char* const kKnown[] = {"type", "properties", "required", "additionalProperties", "items", "enum",
                                           "const", "anyOf", "oneOf", "title", "description", "$schema", "default",
                                           "examples", "$comment"};
      bool known = false;
      for (const char* k : kKnown) known = known || key == k;
      if (!known) refuse(fmt::format("{}: the keyword '{}' is not supported", where, key));
    }
    if (schema.contains("const")) return add(literal(dumped(schema["const"])));
    if (schema.contains("enum")) {
      const json& e = schema["enum"];
      if (!e.is_array() || e.empty()) refuse(where + ".enum must be a non-empty array");
      std::string body;
      for (const auto& v : e) body += (body.empty() ? "" : " | ") + literal(dumped(v));
      return add(body);
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!schema.contains(key)) continue;
      const json& options = schema[key];
      if (!options.is_array() || options.empty()) refuse(fmt::format("{}.{} must be a non-empty array", where, key));
      std::string body;
      for (size_t i = 0; i < options.size(); ++i)
        body += (body.empty() ? "" : " | ") + rule_for(options[i], fmt::format("{}.{}[{}]", where, key, i));
      return add(body);
    }
    if (!schema.contains("type")) return "value";
    const json& type = schema["type"];
    if (type.is_string()) return rule_for_type(type.get<std::string>(), schema, where);
    if (!type.is_array() || type.empty()) refuse(where + ".type must be a string or a non-empty array of strings");
    std::string body;
    for (const auto& t : type) {
      if (!t.is_string()) refuse(where + ".type must be a string or a non-empty array of strings");
      body += (body.empty() ? "" : " | ") + rule_for_type(t.get<std::string>(), schema, where);
    }
    return add(body);
  }

  std::string rule_for_type(const std::string& type, const json& schema, const std::string& where) {
    if (type == "object") return object_rule(schema, where);
    if (type == "array") {
      if (!schema.contains("items")) return "array";
      const std::string item = rule_for(schema["items"], where + ".items");
      return add(fmt::format(R"("[" ws ( {0} ( ws "," ws {0} )* ws )? "]")", item));
    }
    for (const char* base : {"string", "number", "integer", "boolean", "null"})
      if (type == base) return base;
    refuse(fmt::format("{}.type '{}' is not a JSON schema type", where, type));
  }

  std::string object_rule(const json& schema, const std::string& where) {
    if (schema.contains("required") && !schema["required"].is_array()) refuse(where + ".required must be an array");
    if (schema.contains("additionalProperties") && !schema["additionalProperties"].is_boolean())
      refuse(where + ".additionalProperties: only true or false is supported");
    if (!schema.contains("properties")) return "object";
    const json& properties = schema["properties"];
    if (!properties.is_object()) refuse(where + ".properties must be an object");
    if (properties.empty()) return add(R"("{" ws "}")");
    std::string body = R"("{" ws )";
    bool first = true;
    for (const auto& [name, sub] : properties.items()) {
      const std::string value = rule_for(sub, where + ".properties." + name);
      body += fmt::format(R"({}{} ws ":" ws {} )", first ? "" : R"(ws "," ws )", literal(dumped(json(name))), value);
      first = false;
    }
    return add(body + R"(ws "}")");
  }

  std::string add(const std::string& body) {
    const std::string name = fmt::format("s{}", ++count_);
    rules_ += fmt::format("{} ::= {}\n", name, body);
    return name;
  }

  static constexpr int kMaxDepth = 32;
  std::string rules_;
  int count_ = 0;
  int depth_ = 0;
};

}  // namespace

std::string json_schema_to_gbnf(const json& schema) { return Converter().grammar(schema); }

}  // namespace chorus::serve
