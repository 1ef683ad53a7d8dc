// Writes seeds for fuzz_grammar into the folder given as argument: grammar
// text, a NUL, then input for the recognizer.
#include <cstdio>
#include <string>

namespace {

void write(const std::string& dir, const char* name, const std::string& grammar, const std::string& input) {
  const std::string path = dir + "/seed-" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  const std::string bytes = grammar + std::string(1, '\0') + input;
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: seed_grammar DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  write(dir, "object", R"(root  ::= "{" ws pair ("," ws pair)* "}"
pair  ::= [a-z_]+ ":" ws ( value | "null" )   # a comment
ws    ::= [ \t\n]*
value ::= "\"" [^"\\]* "\""
)", R"({a: "x", b_c: null})");
  write(dir, "unicode", "root ::= [à-ÿ]+ \"→\" . [^\\x00-\\x7f]? (\"é\" | [0-9])*\n", "éà→zé9");
  write(dir, "nested", "root ::= item+\nitem ::= \"(\" item* \")\" | [a-c]\n", "(a(b)c)((()))");
  return 0;
}
