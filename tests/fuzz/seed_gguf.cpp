// Writes small valid GGUF files into the folder given as argument: seeds for
// fuzz_gguf that open cleanly and are short enough to mutate quickly (the real
// model files are large, and libFuzzer cuts inputs above 1 MiB).
#include <cstdio>
#include <string>
#include <vector>

#include "chorus/error.h"
#include "models/gguf_writer.h"

using chorus::kernels::GgmlType;
using chorus::models::GgufWriter;

namespace {

// Every metadata value type, a string array and one tensor of each common type.
GgufWriter every_type(uint32_t alignment) {
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_uint32("general.alignment", alignment);
  w.add_uint8("u8", 1);
  w.add_int8("i8", -1);
  w.add_uint16("u16", 2);
  w.add_int16("i16", -2);
  w.add_int32("i32", -3);
  w.add_uint64("u64", 4);
  w.add_int64("i64", -4);
  w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.add_float64("f64", 0.5);
  w.add_bool("flag", true);
  w.add_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a"});
  w.add_array("tokenizer.ggml.scores", std::vector<float>{0, 0, 0, -1});
  w.add_array("tokenizer.ggml.token_type", std::vector<int32_t>{2, 3, 3, 1});
  w.add_bool_array("bools", {true, false});
  w.add_tensor("f32", {4, 2}, GgmlType::F32, std::vector<uint8_t>(32, 1));
  w.add_tensor("f16", {3}, GgmlType::F16, std::vector<uint8_t>(6, 2));
  w.add_tensor("q8_0", {32, 2}, GgmlType::Q8_0, std::vector<uint8_t>(68, 3));
  w.add_tensor("q4_1", {32}, GgmlType::Q4_1, std::vector<uint8_t>(20, 4));
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    const std::string dir = argv[1];
    every_type(32).write(dir + "/every_type.gguf");
    every_type(1).write(dir + "/every_type_align1.gguf");
    GgufWriter empty;
    empty.write(dir + "/empty.gguf");
  } catch (const chorus::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
