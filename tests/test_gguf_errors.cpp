// GGUF writer -> reader round trips, and every way the reader must refuse a
// broken file: each is a chorus::Error whose message names the file and the
// field. Broken files are valid files from GgufWriter with bytes patched.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "chorus/error.h"
#include "models/gguf.h"
#include "models/gguf_writer.h"
#include "tests/test_paths.h"

namespace chorus::models {
namespace {

using kernels::GgmlType;
using Bytes = std::vector<uint8_t>;

std::string write_temp(const std::string& test, const Bytes& bytes) {
  std::string path = test::temp_dir("gguf_errors_" + test) + "/file.gguf";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
  return path;
}

// The offset just past the only occurrence of `text` in the file.
size_t offset_after(const Bytes& bytes, const std::string& text) {
  auto it = std::search(bytes.begin(), bytes.end(), text.begin(), text.end());
  EXPECT_NE(it, bytes.end()) << text;
  EXPECT_EQ(std::search(it + 1, bytes.end(), text.begin(), text.end()), bytes.end()) << text << " is not unique";
  return static_cast<size_t>(it - bytes.begin()) + text.size();
}

template <typename T>
void patch(Bytes& bytes, size_t offset, T value) {
  ASSERT_LE(offset + sizeof(T), bytes.size());
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

Bytes f32_bytes(const std::vector<float>& values) {
  Bytes out(values.size() * sizeof(float));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// A small valid file: a few keys, a string array, an F32 matrix and a Q8_0 row.
// Tensor "mat" (dims {4, 2}) comes first, "row" (one Q8_0 block) last.
Bytes small_file() {
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_uint32("llama.block_count", 1);
  w.add_bool("flag", true);
  w.add_string_array("tokens", {"<s>", "</s>", "a"});
  w.add_tensor("mat", {4, 2}, GgmlType::F32, f32_bytes({1, 2, 3, 4, 5, 6, 7, 8}));
  w.add_tensor("row", {32}, GgmlType::Q8_0, Bytes(34, 7));
  return w.bytes();
}

// Writes the bytes, opens them, and expects a format error naming the file and every substring.
void expect_format_error(const std::string& test, const Bytes& bytes, const std::vector<std::string>& substrings) {
  std::string path = write_temp(test, bytes);
  try {
    GgufFile f(path);
    ADD_FAILURE() << test << ": opened without error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormat) << e.what();
    std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    for (const std::string& s : substrings) EXPECT_NE(message.find(s), std::string::npos) << "'" << s << "' not in: " << message;
  }
}

// ---------------------------------------------------------------- round trips

TEST(GgufRoundTrip, EveryScalarType) {
  GgufWriter w;
  w.add_uint8("u8", 255);
  w.add_int8("i8", -128);
  w.add_uint16("u16", 65535);
  w.add_int16("i16", -32768);
  w.add_uint32("u32", 4294967295u);
  w.add_int32("i32", std::numeric_limits<int32_t>::min());
  w.add_uint64("u64", std::numeric_limits<uint64_t>::max());
  w.add_int64("i64", std::numeric_limits<int64_t>::min());
  w.add_float32("f32", -1.5f);
  w.add_float64("f64", 1e300);
  w.add_bool("yes", true);
  w.add_bool("no", false);
  w.add_string("str", "héllo");
  w.add_string("empty", "");
  w.add_string("nul", std::string_view("a\0b", 3));
  GgufFile f(write_temp("scalars", w.bytes()));

  EXPECT_EQ(f.version(), 3u);
  ASSERT_EQ(f.metadata().size(), 15u);
  EXPECT_EQ(f.metadata()[0].first, "u8");  // order kept
  EXPECT_EQ(f.metadata()[14].first, "nul");
  auto type_of = [&](const char* k) { return f.find(k)->type; };
  EXPECT_EQ(type_of("u8"), GgufValueType::UINT8);
  EXPECT_EQ(type_of("i8"), GgufValueType::INT8);
  EXPECT_EQ(type_of("u16"), GgufValueType::UINT16);
  EXPECT_EQ(type_of("i16"), GgufValueType::INT16);
  EXPECT_EQ(type_of("u32"), GgufValueType::UINT32);
  EXPECT_EQ(type_of("i32"), GgufValueType::INT32);
  EXPECT_EQ(type_of("u64"), GgufValueType::UINT64);
  EXPECT_EQ(type_of("i64"), GgufValueType::INT64);
  EXPECT_EQ(type_of("f32"), GgufValueType::FLOAT32);
  EXPECT_EQ(type_of("f64"), GgufValueType::FLOAT64);
  EXPECT_EQ(type_of("yes"), GgufValueType::BOOL);
  EXPECT_EQ(type_of("str"), GgufValueType::STRING);

  EXPECT_EQ(f.get_uint("u8"), 255u);
  EXPECT_EQ(std::get<int64_t>(f.find("i8")->v), -128);
  EXPECT_EQ(f.get_uint("u16"), 65535u);
  EXPECT_EQ(std::get<int64_t>(f.find("i16")->v), -32768);
  EXPECT_EQ(f.get_uint("u32"), 4294967295u);
  EXPECT_EQ(std::get<int64_t>(f.find("i32")->v), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(f.get_uint("u64"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(std::get<int64_t>(f.find("i64")->v), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.get_float("f32", 0), -1.5);
  EXPECT_EQ(f.get_float("f64", 0), 1e300);
  EXPECT_TRUE(f.get_bool("yes", false));
  EXPECT_FALSE(f.get_bool("no", true));
  EXPECT_EQ(f.get_string("str"), "héllo");
  EXPECT_EQ(f.get_string("empty"), "");
  EXPECT_EQ(f.get_string("nul"), std::string("a\0b", 3));
}

template <typename T>
void expect_numeric_array(const GgufFile& f, const char* key, GgufValueType type, const std::vector<T>& want) {
  const GgufArray& a = f.get_array(key, type);
  ASSERT_EQ(a.items.size(), want.size()) << key;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(a.items[i].type, type);
    std::visit([&](const auto& got) {
      using G = std::decay_t<decltype(got)>;
      if constexpr (std::is_arithmetic_v<G>) EXPECT_EQ(static_cast<T>(got), want[i]) << key << "[" << i << "]";
      else ADD_FAILURE() << key << "[" << i << "] is not a number";
    }, a.items[i].v);
  }
}

TEST(GgufRoundTrip, EveryArrayType) {
  GgufWriter w;
  const std::vector<uint8_t> u8{0, 1, 255};
  const std::vector<int8_t> i8{-128, 0, 127};
  const std::vector<uint16_t> u16{0, 65535};
  const std::vector<int16_t> i16{-32768, 32767};
  const std::vector<uint32_t> u32{1, 2, 3, 4294967295u};
  const std::vector<int32_t> i32{-7, 7};
  const std::vector<uint64_t> u64{std::numeric_limits<uint64_t>::max()};
  const std::vector<int64_t> i64{std::numeric_limits<int64_t>::min(), 5};
  const std::vector<float> f32{0.25f, -3.0f};
  const std::vector<double> f64{1e-300, 2.5};
  w.add_array("u8", u8);
  w.add_array("i8", i8);
  w.add_array("u16", u16);
  w.add_array("i16", i16);
  w.add_array("u32", u32);
  w.add_array("i32", i32);
  w.add_array("u64", u64);
  w.add_array("i64", i64);
  w.add_array("f32", f32);
  w.add_array("f64", f64);
  w.add_array("none", std::vector<float>{});
  w.add_bool_array("bools", {true, false, true});
  w.add_string_array("strings", {"alpha", "", "ĠGamma", "<|im_end|>"});
  GgufFile f(write_temp("arrays", w.bytes()));

  expect_numeric_array(f, "u8", GgufValueType::UINT8, u8);
  expect_numeric_array(f, "i8", GgufValueType::INT8, i8);
  expect_numeric_array(f, "u16", GgufValueType::UINT16, u16);
  expect_numeric_array(f, "i16", GgufValueType::INT16, i16);
  expect_numeric_array(f, "u32", GgufValueType::UINT32, u32);
  expect_numeric_array(f, "i32", GgufValueType::INT32, i32);
  expect_numeric_array(f, "u64", GgufValueType::UINT64, u64);
  expect_numeric_array(f, "i64", GgufValueType::INT64, i64);
  expect_numeric_array(f, "f32", GgufValueType::FLOAT32, std::vector<double>{0.25, -3.0});
  expect_numeric_array(f, "f64", GgufValueType::FLOAT64, f64);
  EXPECT_TRUE(f.get_array("none", GgufValueType::FLOAT32).items.empty());

  const GgufArray& bools = f.get_array("bools", GgufValueType::BOOL);
  ASSERT_EQ(bools.items.size(), 3u);
  EXPECT_EQ(std::get<bool>(bools.items[0].v), true);
  EXPECT_EQ(std::get<bool>(bools.items[1].v), false);

  const GgufArray& strings = f.get_array("strings", GgufValueType::STRING);
  ASSERT_EQ(strings.items.size(), 4u);
  EXPECT_EQ(std::get<std::string_view>(strings.items[0].v), "alpha");
  EXPECT_EQ(std::get<std::string_view>(strings.items[1].v), "");
  EXPECT_EQ(std::get<std::string_view>(strings.items[2].v), "ĠGamma");
  EXPECT_EQ(std::get<std::string_view>(strings.items[3].v), "<|im_end|>");

  EXPECT_THROW(f.get_array("u8", GgufValueType::INT8), Error);  // element type is checked
}

// The writer has no nested arrays; patch an outer array of uint32 words so
// that its single element is read as an inner array of two uint32.
TEST(GgufRoundTrip, NestedArray) {
  GgufWriter w;
  w.add_array("nest", std::vector<uint32_t>{static_cast<uint32_t>(GgufValueType::UINT32), 2, 0, 7, 8});
  Bytes bytes = w.bytes();
  size_t at = offset_after(bytes, "nest") + 4;  // past the value type
  patch<uint32_t>(bytes, at, static_cast<uint32_t>(GgufValueType::ARRAY));
  patch<uint64_t>(bytes, at + 4, 1);
  GgufFile f(write_temp("nested", bytes));
  const GgufArray& outer = f.get_array("nest", GgufValueType::ARRAY);
  ASSERT_EQ(outer.items.size(), 1u);
  const auto& inner = std::get<std::shared_ptr<GgufArray>>(outer.items[0].v);
  ASSERT_EQ(inner->items.size(), 2u);
  EXPECT_EQ(std::get<uint64_t>(inner->items[0].v), 7u);
  EXPECT_EQ(std::get<uint64_t>(inner->items[1].v), 8u);
}

TEST(GgufRoundTrip, TensorsKeepDimsTypeAndBytes) {
  std::string path = write_temp("tensors", small_file());
  GgufFile f(path);
  ASSERT_EQ(f.tensors().size(), 2u);
  const GgufTensor& mat = f.tensor("mat");
  EXPECT_EQ(mat.dims, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(mat.type, GgmlType::F32);
  EXPECT_EQ(mat.bytes, 32u);
  float values[8];
  std::memcpy(values, mat.data, sizeof(values));
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[7], 8.0f);
  const GgufTensor& row = f.tensor("row");
  EXPECT_EQ(row.type, GgmlType::Q8_0);
  EXPECT_EQ(row.bytes, 34u);
  EXPECT_EQ(row.data[0], 7);
  EXPECT_EQ(row.data[33], 7);
  EXPECT_EQ(f.get_array("tokens", GgufValueType::STRING).items.size(), 3u);
}

TEST(GgufRoundTrip, VersionTwoIsRead) {
  Bytes bytes = small_file();
  patch<uint32_t>(bytes, 4, 2);
  GgufFile f(write_temp("v2", bytes));
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.tensor("row").bytes, 34u);
}

// Alignment set through different integer types and sizes: the data section
// and every tensor start on a multiple, and the bytes survive the padding.
TEST(GgufRoundTrip, AlignmentIsRespected) {
  struct Case { uint64_t alignment; GgufValueType type; };
  const Case cases[] = {{1, GgufValueType::UINT32}, {2, GgufValueType::UINT8}, {8, GgufValueType::UINT16},
                        {32, GgufValueType::UINT32}, {64, GgufValueType::INT32}, {4096, GgufValueType::UINT64},
                        {1u << 20, GgufValueType::INT64}};
  for (const Case& c : cases) {
    SCOPED_TRACE(fmt::format("alignment {} as {}", c.alignment, gguf_value_type_name(c.type)));
    GgufWriter w;
    switch (c.type) {
      case GgufValueType::UINT8: w.add_uint8("general.alignment", static_cast<uint8_t>(c.alignment)); break;
      case GgufValueType::UINT16: w.add_uint16("general.alignment", static_cast<uint16_t>(c.alignment)); break;
      case GgufValueType::INT32: w.add_int32("general.alignment", static_cast<int32_t>(c.alignment)); break;
      case GgufValueType::UINT64: w.add_uint64("general.alignment", c.alignment); break;
      case GgufValueType::INT64: w.add_int64("general.alignment", static_cast<int64_t>(c.alignment)); break;
      default: w.add_uint32("general.alignment", static_cast<uint32_t>(c.alignment)); break;
    }
    // Odd sizes, so that the padding between tensors is visible.
    w.add_tensor("a", {3}, GgmlType::F32, f32_bytes({1, 2, 3}));
    w.add_tensor("b", {5}, GgmlType::F16, Bytes(10, 0xAB));
    w.add_tensor("c", {32}, GgmlType::Q4_0, Bytes(18, 0x5C));
    EXPECT_EQ(w.alignment(), c.alignment);
    GgufFile f(write_temp("alignment", w.bytes()));
    EXPECT_EQ(f.alignment(), c.alignment);
    EXPECT_EQ(f.data_offset() % c.alignment, 0u);
    for (const GgufTensor& t : f.tensors()) EXPECT_EQ(t.offset % c.alignment, 0u) << t.name;
    EXPECT_EQ(f.tensor("a").data[0], f32_bytes({1})[0]);
    EXPECT_EQ(f.tensor("b").data[9], 0xAB);
    EXPECT_EQ(f.tensor("c").data[17], 0x5C);
    EXPECT_EQ(f.file_size(), f.data_offset() + f.tensor("c").offset + 18);  // no trailing padding
  }
}

TEST(GgufWriter, RefusesWhatWouldBeAnInvalidFile) {
  GgufWriter w;
  w.add_uint32("k", 1);
  EXPECT_THROW(w.add_string("k", "again"), Error);
  EXPECT_THROW(w.add_uint32("general.alignment", 24), Error);
  EXPECT_THROW(w.add_int32("general.alignment", -32), Error);
  EXPECT_THROW(w.add_uint64("general.alignment", uint64_t{1} << 21), Error);
  EXPECT_THROW(w.add_float32("general.alignment", 32.0f), Error);
  EXPECT_EQ(w.alignment(), 32u);  // unchanged by the refused attempts
  w.add_tensor("t", {2}, GgmlType::F32, Bytes(8));
  EXPECT_THROW(w.add_tensor("t", {2}, GgmlType::F32, Bytes(8)), Error);           // duplicate name
  EXPECT_THROW(w.add_tensor("u", {2}, GgmlType::F32, Bytes(7)), Error);           // wrong size
  EXPECT_THROW(w.add_tensor("u", {16}, GgmlType::Q8_0, Bytes(17)), Error);        // partial block
  EXPECT_THROW(w.add_tensor("u", {0}, GgmlType::F32, Bytes()), Error);            // empty dimension
  EXPECT_THROW(w.add_tensor("u", {1, 1, 1, 1, 1}, GgmlType::F32, Bytes(4)), Error);  // five dimensions
  EXPECT_THROW(w.add_tensor("u", {1}, static_cast<GgmlType>(4), Bytes(4)), Error);  // unknown type
  try {
    w.add_uint8("k", 0);
    ADD_FAILURE() << "a duplicate key was written";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'k'"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- errors

// Every prefix of a valid file is refused cleanly: with "truncated" while
// the header is cut (a count that no longer fits says so too), with "past
// the end" once only tensor data is missing.
TEST(GgufErrors, EveryTruncationIsAnError) {
  const Bytes full = small_file();
  std::string path = test::temp_dir("gguf_errors_truncated") + "/file.gguf";
  for (size_t cut = 0; cut < full.size(); ++cut) {
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(full.data()),
                                                                 static_cast<std::streamsize>(cut));
    try {
      GgufFile f(path);
      ADD_FAILURE() << "a file cut to " << cut << " of " << full.size() << " bytes opened";
    } catch (const Error& e) {
      std::string message = e.what();
      EXPECT_EQ(e.code(), ErrorCode::kFormat) << message;
      EXPECT_NE(message.find(path), std::string::npos) << message;
      EXPECT_TRUE(message.find("truncated") != std::string::npos ||
                  message.find("extends past the end of the file") != std::string::npos)
          << "cut " << cut << ": " << message;
    }
  }
}

TEST(GgufErrors, WrongMagic) {
  Bytes bytes = small_file();
  bytes[3] = 'G';
  expect_format_error("magic", bytes, {"magic", "not a GGUF file"});
}

TEST(GgufErrors, UnsupportedVersion) {
  for (uint32_t version : {1u, 4u, 0xFFFFFFFFu}) {
    Bytes bytes = small_file();
    patch<uint32_t>(bytes, 4, version);
    expect_format_error("version", bytes, {"version", fmt::format("unsupported GGUF version {}", version)});
  }
}

TEST(GgufErrors, AbsurdCounts) {
  Bytes bytes = small_file();
  patch<uint64_t>(bytes, 8, uint64_t{1} << 60);
  expect_format_error("tensor_count", bytes, {"tensor_count", "count 1152921504606846976 cannot fit"});
  bytes = small_file();
  patch<uint64_t>(bytes, 16, uint64_t{1} << 60);
  expect_format_error("kv_count", bytes, {"metadata_kv_count", "count 1152921504606846976 cannot fit"});
  bytes = small_file();
  patch<uint64_t>(bytes, offset_after(bytes, "tokens") + 8, uint64_t{1} << 61);  // past type and element type
  expect_format_error("array_count", bytes, {"tokens", "array count 2305843009213693952 cannot fit"});
  bytes = small_file();
  patch<uint64_t>(bytes, offset_after(bytes, "general.architecture") + 4, uint64_t{1} << 62);  // string length
  expect_format_error("string_length", bytes, {"general.architecture", "truncated file"});
}

TEST(GgufErrors, TensorDataPastTheEnd) {
  Bytes bytes = small_file();
  bytes.pop_back();
  expect_format_error("past_end_cut", bytes, {"tensor 'row'", "extends past the end of the file"});
  bytes = small_file();
  patch<uint64_t>(bytes, offset_after(bytes, "row") + 4 + 8 + 4, uint64_t{1} << 40);  // n_dims, dim, type
  expect_format_error("past_end_offset", bytes, {"tensor 'row'", "extends past the end of the file"});
}

TEST(GgufErrors, AbsurdDimensions) {
  const size_t dims_at = offset_after(small_file(), "mat") + 4;  // past n_dims
  Bytes bytes = small_file();
  patch<uint64_t>(bytes, dims_at, uint64_t{1} << 50);
  expect_format_error("dim_huge", bytes, {"tensor 'mat'", "absurd dimension", "dims[0]"});
  bytes = small_file();
  patch<uint64_t>(bytes, dims_at + 8, 0);
  expect_format_error("dim_zero", bytes, {"tensor 'mat'", "absurd dimension 0", "dims[1]"});
  bytes = small_file();  // each dimension is plausible, their product is not
  patch<uint64_t>(bytes, dims_at, uint64_t{1} << 30);
  patch<uint64_t>(bytes, dims_at + 8, uint64_t{1} << 30);
  expect_format_error("dim_product", bytes, {"tensor 'mat'", "absurd dimension", "dims[1]"});
  bytes = small_file();
  patch<uint32_t>(bytes, dims_at - 4, 7);
  expect_format_error("n_dims", bytes, {"tensor 'mat'", "7 dimensions"});
}

TEST(GgufErrors, UnknownTensorType) {
  Bytes bytes = small_file();
  patch<uint32_t>(bytes, offset_after(bytes, "mat") + 4 + 2 * 8, 99);
  expect_format_error("tensor_type", bytes, {"tensor 'mat'", "unknown tensor type 99"});
}

TEST(GgufErrors, RowNotAWholeNumberOfBlocks) {
  Bytes bytes = small_file();
  patch<uint64_t>(bytes, offset_after(bytes, "row") + 4, 16);
  expect_format_error("partial_block", bytes, {"tensor 'row'", "not a multiple", "q8_0"});
}

TEST(GgufErrors, MisalignedTensorOffset) {
  Bytes bytes = small_file();
  patch<uint64_t>(bytes, offset_after(bytes, "row") + 4 + 8 + 4, 33);
  expect_format_error("misaligned", bytes, {"tensor 'row'", "data offset 33 is not aligned to 32"});
}

TEST(GgufErrors, UnknownValueType) {
  Bytes bytes = small_file();
  patch<uint32_t>(bytes, offset_after(bytes, "llama.block_count"), 13);
  expect_format_error("value_type", bytes, {"llama.block_count", "unknown value type 13"});
  bytes = small_file();
  patch<uint32_t>(bytes, offset_after(bytes, "tokens") + 4, 77);  // the element type
  expect_format_error("element_type", bytes, {"tokens", "unknown array element type 77"});
}

TEST(GgufErrors, BoolThatIsNeitherZeroNorOne) {
  Bytes bytes = small_file();
  patch<uint8_t>(bytes, offset_after(bytes, "flag") + 4, 2);
  expect_format_error("bool", bytes, {"flag", "bool value 2"});
}

TEST(GgufErrors, DuplicateKey) {
  GgufWriter w;
  w.add_uint32("dup.a", 1);
  w.add_uint32("dup.b", 2);
  Bytes bytes = w.bytes();
  bytes[offset_after(bytes, "dup.b") - 1] = 'a';
  expect_format_error("duplicate_key", bytes, {"dup.a", "duplicate metadata key"});
}

TEST(GgufErrors, DuplicateTensorName) {
  GgufWriter w;
  w.add_tensor("ta", {1}, GgmlType::F32, Bytes(4));
  w.add_tensor("tb", {1}, GgmlType::F32, Bytes(4));
  Bytes bytes = w.bytes();
  bytes[offset_after(bytes, "tb") - 1] = 'a';
  expect_format_error("duplicate_tensor", bytes, {"tensor 'ta'", "duplicate tensor name"});
}

TEST(GgufErrors, BadAlignment) {
  GgufWriter w;
  w.add_uint32("general.alignment", 32);
  Bytes good = w.bytes();
  const size_t value_at = offset_after(good, "general.alignment") + 4;
  Bytes bytes = good;
  patch<uint32_t>(bytes, value_at, 24);
  expect_format_error("alignment_24", bytes, {"general.alignment", "alignment 24 is not a power of two"});
  bytes = good;
  patch<uint32_t>(bytes, value_at, 0);
  expect_format_error("alignment_0", bytes, {"general.alignment", "alignment 0"});
  bytes = good;
  patch<uint32_t>(bytes, value_at - 4, static_cast<uint32_t>(GgufValueType::FLOAT32));
  expect_format_error("alignment_float", bytes, {"general.alignment", "not an integer"});
}

// An outer array whose elements are arrays, each holding one array, deeper
// than the reader allows (the recursion is bounded, not the stack).
TEST(GgufErrors, ArraysNestedTooDeeply) {
  std::vector<uint32_t> words;
  for (int level = 0; level < 8; ++level) words.insert(words.end(), {static_cast<uint32_t>(GgufValueType::ARRAY), 1, 0});
  GgufWriter w;
  w.add_array("deep", words);
  Bytes bytes = w.bytes();
  size_t at = offset_after(bytes, "deep") + 4;
  patch<uint32_t>(bytes, at, static_cast<uint32_t>(GgufValueType::ARRAY));
  patch<uint64_t>(bytes, at + 4, 1);
  expect_format_error("nested", bytes, {"deep", "nested too deeply"});
}

}  // namespace
}  // namespace chorus::models
