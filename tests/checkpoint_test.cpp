// safetensors checkpoints: bit-exact round trips, files written by Python, hostile files, and
// all-or-nothing module loads.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "affine/nn/checkpoint.hpp"
#include "affine/nn/module.hpp"
#include "affine/tensor/tensor.hpp"

namespace fs = std::filesystem;
using namespace affine;
using affine::nn::Metadata;
using affine::nn::NamedTensors;

namespace {

// ---- helpers ---------------------------------------------------------------------------------

/// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("affine_ckpt_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().filename());
    return out;
  }

 private:
  fs::path path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// The raw bytes of a tensor's elements in row-major order.
std::string tensor_bytes(const Tensor& t) {
  const Tensor c = t.contiguous();
  const size_t n = static_cast<size_t>(c.numel()) * dtype_size(c.dtype());
  const char* p = nullptr;
  switch (c.dtype()) {
    case DType::f32:
      p = reinterpret_cast<const char*>(c.data<float>());
      break;
    case DType::f64:
      p = reinterpret_cast<const char*>(c.data<double>());
      break;
    case DType::i64:
      p = reinterpret_cast<const char*>(c.data<int64_t>());
      break;
  }
  return std::string(p, n);
}

void expect_bit_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  EXPECT_EQ(a.dtype(), b.dtype()) << what;
  EXPECT_EQ(a.shape(), b.shape()) << what;
  EXPECT_EQ(tensor_bytes(a), tensor_bytes(b)) << what;
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
  return s;
}

/// A file from a header text and a data section, with the true header length.
std::string file_of(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

/// Expects parsing `bytes` to throw affine::Error whose message starts with the operation and
/// file and contains `problem`.
void expect_rejected(const std::string& bytes, const std::string& problem) {
  const std::string name = "hostile.safetensors";
  try {
    nn::parse_safetensors(bytes, name);
    ADD_FAILURE() << "accepted a file that should fail with: " << problem;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("parse_safetensors: 'hostile.safetensors': ", 0), 0u) << msg;
    EXPECT_NE(msg.find(problem), std::string::npos)
        << "message: " << msg << "\nexpected to contain: " << problem;
  }
}

/// Expects f() to throw affine::Error containing every one of `parts`; returns the message.
template <class F>
std::string expect_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) {
      EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nmissing: " << p;
    }
    return msg;
  }
  ADD_FAILURE() << "no affine::Error thrown";
  return {};
}

const std::string kData24(24, '\0');

/// A 2x3 F32 entry at [begin, end].
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":" + offsets + "}";
}

// ---- a tiny module with two parameters -------------------------------------------------------

class Tiny : public nn::Module {
 public:
  Tiny(const Shape& ws, const Shape& bs, DType dtype = DType::f32, const char* wname = "weight",
       const char* bname = "bias")
      : w(Tensor::zeros(ws, dtype)), b(Tensor::zeros(bs, dtype)) {
    register_parameter(wname, w);
    register_parameter(bname, b);
    fill(0.0);
  }
  Var forward(const Var& x) override { return x; }
  std::string name() const override { return "Tiny"; }
  void fill(double base) {
    for (Parameter* p : {&w, &b}) {
      auto flat = p->value.reshape({-1});
      for (int64_t i = 0; i < flat.numel(); ++i)
        flat.set({i}, base + 0.25 * static_cast<double>(i));
      base += 100;
    }
  }
  Parameter w, b;
};

/// An optimizer-like object with the state()/load_state() protocol of optim::SGD and Adam.
struct FakeOptimizer {
  NamedTensors saved;
  NamedTensors state() const { return saved; }
  void load_state(const NamedTensors& s) { saved = s; }
};
static_assert(nn::StatefulOptimizer<FakeOptimizer>);

// ---- round trips -----------------------------------------------------------------------------

TEST(Safetensors, RoundTripIsBitIdentical) {
  TempDir dir;
  const float nanf = std::numeric_limits<float>::quiet_NaN();
  Tensor base = Tensor::from_vector(
      std::vector<float>{1.5f, -0.0f, nanf, std::numeric_limits<float>::infinity(),
                         std::numeric_limits<float>::denorm_min(), 3.25f},
      {2, 3});
  NamedTensors in = {
      {"f32", base},
      {"f64", Tensor::from_vector(std::vector<double>{1.0 / 3.0, -1e-300, 1e300}, {3, 1})},
      {"i64", Tensor::from_vector(std::vector<int64_t>{std::numeric_limits<int64_t>::min(), -1,
                                                       std::numeric_limits<int64_t>::max(), 0},
                                  {2, 2})},
      {"rank0", Tensor::scalar(2.75, DType::f64)},
      {"zero_size", Tensor::zeros({0, 5}, DType::f32)},
      {"transposed", base.t()},  // non-contiguous source
      {"sliced", Tensor::arange(0, 20, 1, DType::i64).slice(0, 1, 20, 3)},
      {"unicode_name_\xc3\xa9", Tensor::ones({1}, DType::f32)},
  };
  ASSERT_FALSE(in[5].second.is_contiguous());
  ASSERT_FALSE(in[6].second.is_contiguous());
  const Metadata meta = {{"epoch", "7"}, {"note", "caf\xc3\xa9"}};
  const std::string path = dir.file("all.safetensors");
  nn::save_safetensors(path, in, meta);

  const std::string bytes = read_bytes(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  EXPECT_EQ(n % 8, 0u) << "header padded to a multiple of 8";

  for (const auto& out : {nn::load_safetensors(path), nn::parse_safetensors(bytes, path)}) {
    ASSERT_EQ(out.tensors.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      EXPECT_EQ(out.tensors[i].first, in[i].first) << "saved order is kept";
      expect_bit_identical(out.tensors[i].second, in[i].second, in[i].first);
      EXPECT_TRUE(out.tensors[i].second.is_contiguous());
    }
    EXPECT_EQ(out.metadata, meta);
  }
  EXPECT_EQ(nn::load_safetensors(path).tensors[3].second.rank(), 0);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"all.safetensors"}) << "no temporary left";
}

// Hidden-run finding (issue 15): zero-size tensors share their data offsets with their
// neighbours, and the loader sorted keys alphabetically and then by offset with an unstable sort,
// so their saved order was lost.
TEST(Safetensors, ZeroSizeTensorsKeepTheirSavedOrder) {
  TempDir dir;
  NamedTensors in = {
      {"z", Tensor::zeros({0}, DType::f32)},       {"y", Tensor::zeros({3, 0}, DType::f64)},
      {"m", Tensor::ones({2}, DType::f32)},        {"b", Tensor::zeros({0, 2}, DType::i64)},
      {"a", Tensor::zeros({0}, DType::f32)},       {"c", Tensor::ones({1}, DType::f64)},
      {"x", Tensor::zeros({0, 0, 1}, DType::f32)},
  };
  const std::string path = dir.file("zero.safetensors");
  nn::save_safetensors(path, in);
  for (const auto& out : {nn::load_safetensors(path), nn::parse_safetensors(read_bytes(path))}) {
    ASSERT_EQ(out.tensors.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      EXPECT_EQ(out.tensors[i].first, in[i].first) << "position " << i;
      EXPECT_EQ(out.tensors[i].second.shape(), in[i].second.shape()) << in[i].first;
    }
  }
}

TEST(Safetensors, FileFailuresAreIoErrors) {
  TempDir dir;
  try {
    nn::load_safetensors(dir.path().string());
    FAIL() << "expected an IoError";
  } catch (const IoError& e) {
    EXPECT_EQ(e.error_code(), EISDIR) << e.what();
  }
  try {
    nn::save_safetensors(dir.file("no/such/dir/m.safetensors"), {{"w", Tensor::ones({1})}});
    FAIL() << "expected an IoError";
  } catch (const IoError& e) {
    EXPECT_EQ(e.error_code(), ENOENT) << e.what();
  }
}

TEST(Safetensors, EmptyListRoundTrips) {
  TempDir dir;
  nn::save_safetensors(dir.file("e.safetensors"), {});
  const auto out = nn::load_safetensors(dir.file("e.safetensors"));
  EXPECT_TRUE(out.tensors.empty());
  EXPECT_TRUE(out.metadata.empty());
}

// The table of tests/data/make_safetensors_fixture.py.
void expect_fixture_tensors(const NamedTensors& t, const std::string& weight_name) {
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[0].first, weight_name);
  expect_bit_identical(
      t[0].second,
      Tensor::from_vector(std::vector<float>{0.5f, -1.25f, 3.0f, 1e-8f, -0.0f,
                                             std::numeric_limits<float>::infinity()},
                          {2, 3}),
      "weight");
  EXPECT_EQ(t[1].first, "bias");
  expect_bit_identical(
      t[1].second, Tensor::from_vector(std::vector<double>{1.0 / 3.0, -2.5, 1e300}, {3}), "bias");
  EXPECT_EQ(t[2].first, "step");
  ASSERT_EQ(t[2].second.rank(), 0);
  EXPECT_EQ(t[2].second.dtype(), DType::i64);
  EXPECT_EQ(*t[2].second.data<int64_t>(), -(int64_t{1} << 62) + 5);
  EXPECT_EQ(t[3].first, "empty");
  EXPECT_EQ(t[3].second.shape(), Shape({0, 4}));
  EXPECT_EQ(t[3].second.dtype(), DType::f32);
  EXPECT_EQ(t[4].first, "index");
  expect_bit_identical(
      t[4].second,
      Tensor::from_vector(std::vector<int64_t>{0, -1, std::numeric_limits<int64_t>::max(),
                                               std::numeric_limits<int64_t>::min()},
                          {2, 2}),
      "index");
}

TEST(Safetensors, ReadsFileWrittenByPythonAndWritesItBackByteForByte) {
  const std::string path = AFFINE_TEST_DATA_DIR "/safetensors/fixture.safetensors";
  const auto f = nn::load_safetensors(path);
  expect_fixture_tensors(f.tensors, "weight");
  EXPECT_EQ(f.metadata, (Metadata{{"format", "pt"}, {"source", "make_safetensors_fixture.py"}}));

  TempDir dir;
  nn::save_safetensors(dir.file("again.safetensors"), f.tensors, f.metadata);
  EXPECT_EQ(read_bytes(dir.file("again.safetensors")), read_bytes(path));
}

TEST(Safetensors, ReadsSortedKeysEscapesAndNoPadding) {
  // Keys in alphabetical order, not data order: tensors come back in data order.
  const auto f = nn::load_safetensors(AFFINE_TEST_DATA_DIR "/safetensors/python_order.safetensors");
  expect_fixture_tensors(f.tensors, "gewicht_\xc3\xbc");
  EXPECT_EQ(f.metadata, (Metadata{{"note", "caf\xc3\xa9"}}));
}

// ---- hostile files ---------------------------------------------------------------------------

TEST(SafetensorsHostile, Truncated) {
  expect_rejected("", "file is 0 bytes, too short for the 8-byte header length");
  expect_rejected(std::string("\x10\0\0", 3), "file is 3 bytes, too short");
  // A valid file cut anywhere inside its header or data is refused too.
  const std::string good = read_bytes(AFFINE_TEST_DATA_DIR "/safetensors/fixture.safetensors");
  for (size_t cut : {size_t{7}, size_t{8}, size_t{100}, good.size() - 1}) {
    EXPECT_THROW(nn::parse_safetensors(good.substr(0, cut), "cut"), Error) << cut;
  }
  expect_rejected(good.substr(0, good.size() - 1), "file truncated?");
}

TEST(SafetensorsHostile, HeaderLengthHuge) {
  expect_rejected(le64(std::numeric_limits<uint64_t>::max()) + "{}",
                  "header length 18446744073709551615 exceeds the limit of 100000000 bytes");
  expect_rejected(le64(nn::kMaxSafetensorsHeader + 1) + "{}", "exceeds the limit");
}

TEST(SafetensorsHostile, HeaderPastEnd) {
  expect_rejected(le64(1000) + "{}",
                  "header length 1000 runs past the end of the file (10 bytes; truncated?)");
}

TEST(SafetensorsHostile, EmptyHeader) { expect_rejected(le64(0), "header is empty"); }

TEST(SafetensorsHostile, BadJson) {
  expect_rejected(file_of("{\"a\": {\"dtype\": \"F32\","), "header is not valid JSON");
  expect_rejected(file_of("{} trailing"), "header is not valid JSON");
  expect_rejected(file_of(std::string("{}\0\0\0\0\0\0", 8)),
                  "header is not valid JSON: NUL byte at header offset 2");
  expect_rejected(file_of(std::string("{\"a\":1}\0{\"b\"", 12)), "NUL byte at header offset 7");
  expect_rejected(file_of("[1, 2]"), "header is [1,2], not a JSON object");
}

TEST(SafetensorsHostile, InvalidUtf8) {
  expect_rejected(file_of("{\"a\xff\": 1}"),
                  "header is not valid UTF-8 (byte 0xff at header offset 3)");
  expect_rejected(file_of("{\"\xc0\xaf\": 1}"), "not valid UTF-8 (byte 0xc0");      // overlong '/'
  expect_rejected(file_of("{\"\xed\xa0\x80\": 1}"), "not valid UTF-8 (byte 0xed");  // surrogate
  expect_rejected(file_of("{\"\xe2\x82\": 1}"), "not valid UTF-8 (byte 0xe2");      // cut sequence
}

TEST(SafetensorsHostile, UnknownAndUnsupportedDtypes) {
  expect_rejected(file_of("{" + entry("w", "F128", "[2,3]", "[0,24]") + "}", kData24),
                  "tensor 'w' has unknown dtype 'F128'");
  expect_rejected(file_of("{" + entry("w", "BF16", "[2,3]", "[0,12]") + "}", kData24.substr(12)),
                  "tensor 'w' has dtype BF16, which affine does not support");
  expect_rejected(file_of("{" + entry("w", "F16", "[2,3]", "[0,12]") + "}", kData24.substr(12)),
                  "dtype F16, which affine does not support");
  expect_rejected(file_of("{\"w\":{\"dtype\":4,\"shape\":[],\"data_offsets\":[0,4]}}", "abcd"),
                  "tensor 'w' has dtype 4, not a string");
}

TEST(SafetensorsHostile, RankNine) {
  expect_rejected(file_of("{" + entry("w", "F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") + "}", "abcd"),
                  "tensor 'w' has rank 9; affine supports at most 8 dimensions");
}

TEST(SafetensorsHostile, NegativeDimension) {
  expect_rejected(file_of("{" + entry("w", "F32", "[-1,3]", "[0,24]") + "}", kData24),
                  "tensor 'w' has dimension 0 = -1");
}

TEST(SafetensorsHostile, NonIntegerDimension) {
  expect_rejected(file_of("{" + entry("w", "F32", "[2,2.5]", "[0,24]") + "}", kData24),
                  "tensor 'w' has dimension 1 = 2.5");
  expect_rejected(file_of("{" + entry("w", "F32", "[\"2\",3]", "[0,24]") + "}", kData24),
                  "tensor 'w' has dimension 0 = \"2\"");
  expect_rejected(
      file_of("{" + entry("w", "F32", "[18446744073709551615]", "[0,24]") + "}", kData24),
      "dimension 0 = 18446744073709551615");
  expect_rejected(file_of("{" + entry("w", "F32", "3", "[0,24]") + "}", kData24),
                  "tensor 'w' has shape 3, not an array");
}

TEST(SafetensorsHostile, DimensionProductOverflow) {
  expect_rejected(
      file_of("{" + entry("w", "F32", "[4294967296,4294967296]", "[0,0]") + "}"),
      "tensor 'w' has shape [4294967296, 4294967296] whose element count overflows int64");
  expect_rejected(file_of("{" + entry("w", "F64", "[2305843009213693952]", "[0,0]") + "}"),
                  "whose byte size overflows int64");
  // Holds nothing, but its strides would not fit int64 either.
  expect_rejected(file_of("{" + entry("w", "F32", "[0,4294967296,4294967296]", "[0,0]") + "}"),
                  "tensor 'w' has shape [0, 4294967296, 4294967296] whose element count overflows");
  // Large but representable empty shapes are fine.
  const auto ok =
      nn::parse_safetensors(file_of("{" + entry("w", "F32", "[0,1099511627776]", "[0,0]") + "}"));
  ASSERT_EQ(ok.tensors.size(), 1u);
  EXPECT_EQ(ok.tensors[0].second.shape(), Shape({0, int64_t{1} << 40}));
}

TEST(SafetensorsHostile, OffsetsDisagreeWithShape) {
  expect_rejected(file_of("{" + entry("w", "F32", "[2,3]", "[0,12]") + "}", kData24.substr(12)),
                  "tensor 'w' has data_offsets [0, 12] (12 bytes) but shape [2, 3] of F32 needs "
                  "24 bytes");
  expect_rejected(file_of("{" + entry("w", "F32", "[2,3]", "[24,0]") + "}", kData24),
                  "tensor 'w' has data_offsets [24, 0] with begin > end");
  expect_rejected(file_of("{" + entry("w", "F32", "[2,3]", "[0]") + "}", kData24),
                  "tensor 'w' has data_offsets [0], not a pair [begin, end]");
  expect_rejected(file_of("{" + entry("w", "F32", "[2,3]", "[0,-24]") + "}", kData24),
                  "not a pair [begin, end] of non-negative integers");
}

TEST(SafetensorsHostile, OverlappingOffsets) {
  expect_rejected(file_of("{" + entry("a", "F32", "[4]", "[0,16]") + "," +
                              entry("b", "F32", "[4]", "[8,24]") + "}",
                          kData24),
                  "tensor 'b' (bytes [8, 24]) overlaps tensor 'a' (bytes [0, 16])");
  // Two names for the very same bytes.
  expect_rejected(file_of("{" + entry("a", "F32", "[6]", "[0,24]") + "," +
                              entry("b", "F32", "[6]", "[0,24]") + "}",
                          kData24),
                  "overlaps tensor");
}

TEST(SafetensorsHostile, OutOfBoundsOffsets) {
  expect_rejected(file_of("{" + entry("w", "F32", "[2,3]", "[1000,1024]") + "}", kData24),
                  "tensor 'w' has data_offsets [1000, 1024] past the end of the data section "
                  "(24 bytes");
  expect_rejected(
      file_of("{" + entry("w", "F32", "[2]", "[18446744073709551615,7]") + "}", kData24),
      "not a pair [begin, end] of non-negative integers");
}

TEST(SafetensorsHostile, GapsAndTrailingBytes) {
  expect_rejected(file_of("{" + entry("a", "F32", "[2]", "[0,8]") + "," +
                              entry("b", "F32", "[3]", "[12,24]") + "}",
                          kData24),
                  "gap of 4 bytes in the data section between tensor 'a' and tensor 'b'");
  expect_rejected(file_of("{" + entry("a", "F32", "[4]", "[8,24]") + "}", kData24),
                  "gap of 8 bytes in the data section before tensor 'a'");
  expect_rejected(
      file_of("{" + entry("a", "F32", "[4]", "[0,16]") + "}", kData24),
      "data section is 24 bytes but the tensors cover 16 (8 unexplained trailing bytes)");
}

TEST(SafetensorsHostile, DuplicateNames) {
  expect_rejected(file_of("{" + entry("w", "F32", "[3]", "[0,12]") + "," +
                              entry("w", "F32", "[3]", "[12,24]") + "}",
                          kData24),
                  "tensor 'w' appears twice in the header");
  expect_rejected(
      file_of("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F64\",\"shape\":[6],\"data_offsets\":[0,24]}}",
              kData24),
      "entry of tensor 'w' has key 'dtype' twice");
  expect_rejected(file_of("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}"),
                  "__metadata__ has key 'a' twice");
  expect_rejected(file_of("{\"__metadata__\":{},\"__metadata__\":{}}"),
                  "header has '__metadata__' twice");
}

TEST(SafetensorsHostile, DataShorterThanDeclared) {
  expect_rejected(file_of("{" + entry("w", "F32", "[2,3]", "[0,24]") + "}", kData24.substr(0, 12)),
                  "tensor 'w' has data_offsets [0, 24] past the end of the data section (12 bytes; "
                  "file truncated?)");
}

TEST(SafetensorsHostile, MetadataNotStrings) {
  expect_rejected(file_of("{\"__metadata__\":{\"epoch\":3}}"),
                  "__metadata__ value of 'epoch' is 3, not a string");
  expect_rejected(file_of("{\"__metadata__\":{\"x\":{\"y\":\"z\"}}}"),
                  "__metadata__ value of 'x' is {\"y\":\"z\"}, not a string");
  expect_rejected(file_of("{\"__metadata__\":[\"a\"]}"),
                  "__metadata__ is [\"a\"], not an object of strings");
}

TEST(SafetensorsHostile, EntryKeys) {
  expect_rejected(file_of("{\"w\":{\"dtype\":\"F32\",\"shape\":[6]}}", kData24),
                  "tensor 'w' has no 'data_offsets'");
  expect_rejected(file_of("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,24]}}", kData24),
                  "tensor 'w' has no 'shape'");
  expect_rejected(
      file_of("{\"w\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24],\"foo\":1}}",
              kData24),
      "tensor 'w' has unexpected key 'foo'");
  expect_rejected(file_of("{\"w\":[1,2,3]}", kData24), "tensor 'w' is [1,2,3], not an object");
}

TEST(SafetensorsHostile, DeepNesting) {
  // A valid header never nests more than 3 levels; deeper input is refused while parsing, before
  // a deep DOM can be built.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  expect_rejected(file_of(deep), "header nests deeper than a safetensors header can");
  expect_rejected(file_of("{" + entry("w", "F32", "[[2],3]", "[0,24]") + "}", kData24),
                  "nests deeper");
}

TEST(SafetensorsHostile, LoadFromDiskNamesTheFile) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, le64(1000) + "{}");
  expect_error([&] { nn::load_safetensors(path); },
               {"load_safetensors: '" + path + "': header length 1000 runs past the end"});
  write_bytes(path, file_of("{" + entry("w", "F32", "[2,3]", "[0,24]") + "}", kData24.substr(1)));
  expect_error(
      [&] { nn::load_safetensors(path); },
      {"load_safetensors: '" + path + "': tensor 'w' has data_offsets [0, 24] past the end"});
  expect_error([&] { nn::load_safetensors(dir.file("missing.safetensors")); },
               {"load_safetensors: '" + dir.file("missing.safetensors") + "': cannot open"});
  expect_error([&] { nn::load_safetensors(dir.path().string()); }, {"is a directory"});
}

// ---- saving ----------------------------------------------------------------------------------

TEST(SafetensorsSave, IntoMissingDirectoryThrowsNamingThePathAndLeavesNothing) {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/m.safetensors");
  expect_error(
      [&] {
        nn::save_safetensors(path, {{"a", Tensor::ones({2})}});
      },
      {"save_safetensors: '" + path + "'", "cannot create a temporary file",
       "No such file or directory"});
  EXPECT_TRUE(dir.entries().empty());
}

TEST(SafetensorsSave, ReplacesAnExistingFileWhole) {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  nn::save_safetensors(path, {{"big", Tensor::zeros({1000})}});
  const auto big_size = fs::file_size(path);
  nn::save_safetensors(path, {{"small", Tensor::ones({2})}});
  EXPECT_LT(fs::file_size(path), big_size);
  const auto f = nn::load_safetensors(path);
  ASSERT_EQ(f.tensors.size(), 1u);
  EXPECT_EQ(f.tensors[0].first, "small");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"m.safetensors"});
}

TEST(SafetensorsSave, RefusesBadInputAndKeepsTheOldFile) {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  nn::save_safetensors(path, {{"keep", Tensor::ones({3})}});
  const std::string before = read_bytes(path);
  expect_error(
      [&] {
        nn::save_safetensors(path, {{"a", Tensor::ones({1})}, {"a", Tensor::ones({1})}});
      },
      {"save_safetensors: '" + path + "': tensor name 'a' appears twice"});
  expect_error(
      [&] {
        nn::save_safetensors(path, {{"__metadata__", Tensor::ones({1})}});
      },
      {"cannot be named '__metadata__'"});
  expect_error([&] { nn::save_safetensors(path, {{"u", Tensor()}}); }, {"tensor 'u' is undefined"});
  expect_error(
      [&] {
        nn::save_safetensors(path, {{"bad\xff", Tensor::ones({1})}});
      },
      {"not valid UTF-8"});
  expect_error([&] { nn::save_safetensors(path, {}, {{"k", "\xc0"}}); }, {"not valid UTF-8"});
  // The target is a directory: the rename fails, the temporary is removed.
  fs::create_directory(dir.file("adir"));
  fs::create_directory(dir.file("adir/x"));
  expect_error(
      [&] {
        nn::save_safetensors(dir.file("adir"), {{"a", Tensor::ones({1})}});
      },
      {"save_safetensors: '" + dir.file("adir") + "': cannot rename"});
  EXPECT_EQ(read_bytes(path), before);
  auto names = dir.entries();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"adir", "m.safetensors"}));
}

// ---- module level ----------------------------------------------------------------------------

std::vector<std::string> param_bytes(Tiny& m) {
  return {tensor_bytes(m.w.value), tensor_bytes(m.b.value)};
}

TEST(Checkpoint, ModuleRoundTrip) {
  TempDir dir;
  Tiny a({2, 3}, {3});
  a.fill(1.0);
  nn::save(a, dir.file("m.safetensors"));
  Tiny b({2, 3}, {3});
  const Tensor w_storage = b.w.value;  // loading copies in place: views of the value see it
  nn::load(b, dir.file("m.safetensors"));
  EXPECT_EQ(param_bytes(a), param_bytes(b));
  EXPECT_TRUE(w_storage.shares_storage(b.w.value));
  expect_bit_identical(w_storage, a.w.value, "in place");

  // Files are plain safetensors named like PyTorch's state_dict.
  const auto f = nn::load_safetensors(dir.file("m.safetensors"));
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].first, "weight");
  EXPECT_EQ(f.tensors[1].first, "bias");
}

TEST(Checkpoint, WrongShapesReportEveryNameAndLeaveTheModelUnchanged) {
  TempDir dir;
  Tiny saved({100, 2}, {5});
  nn::save(saved, dir.file("m.safetensors"));
  Tiny model({100, 3}, {4});
  model.fill(-7);
  const auto before = param_bytes(model);
  const std::string msg = expect_error(
      [&] { nn::load(model, dir.file("m.safetensors")); },
      {"load: '" + dir.file("m.safetensors") + "' does not match the model (2 problems)",
       "load: 'weight' is [100, 2] in the file but [100, 3] in the model",
       "load: 'bias' is [5] in the file but [4] in the model"});
  EXPECT_EQ(param_bytes(model), before);
}

TEST(Checkpoint, MissingUnexpectedAndMistypedNames) {
  TempDir dir;
  Tiny saved({2, 2}, {2}, DType::f32, "weight", "bias");
  nn::save(saved, dir.file("m.safetensors"));

  Tiny renamed({2, 2}, {2}, DType::f32, "weight", "scale");
  renamed.fill(3);
  auto before = param_bytes(renamed);
  expect_error([&] { nn::load(renamed, dir.file("m.safetensors")); },
               {"(2 problems)", "load: 'scale' is in the model but missing from the file",
                "load: 'bias' is in the file but not in the model"});
  EXPECT_EQ(param_bytes(renamed), before);

  // A float32 file loads into a float64 model, converted in place.
  Tiny f64({2, 2}, {2}, DType::f64);
  const Tensor f64_storage = f64.w.value;
  nn::load(f64, dir.file("m.safetensors"));
  EXPECT_EQ(f64.w.value.dtype(), DType::f64);
  EXPECT_TRUE(f64_storage.shares_storage(f64.w.value));
  EXPECT_EQ(f64.w.value.to_vector<double>(), saved.w.value.to_vector<double>());
  EXPECT_EQ(f64.b.value.to_vector<double>(), saved.b.value.to_vector<double>());
  f64.fill(5);
  before = param_bytes(f64);

  // A file that is not valid at all never reaches the model.
  write_bytes(dir.file("bad.safetensors"), le64(3) + "{}");
  expect_error([&] { nn::load(f64, dir.file("bad.safetensors")); }, {"load_safetensors: '"});
  EXPECT_EQ(param_bytes(f64), before);
}

TEST(Checkpoint, OptimizerStateTravelsUnderItsPrefix) {
  TempDir dir;
  Tiny a({2, 3}, {3});
  a.fill(1);
  FakeOptimizer opt;
  opt.saved = {{"0.momentum", Tensor::full({2, 3}, 0.5)}, {"step", Tensor::scalar(12, DType::i64)}};
  nn::save(a, dir.file("m.safetensors"), opt);

  const auto f = nn::load_safetensors(dir.file("m.safetensors"));
  ASSERT_EQ(f.tensors.size(), 4u);
  EXPECT_EQ(f.tensors[2].first, "optim.0.momentum");
  EXPECT_EQ(f.tensors[3].first, "optim.step");

  // Weights alone: optimizer entries are not "unexpected".
  Tiny b({2, 3}, {3});
  nn::load(b, dir.file("m.safetensors"));
  EXPECT_EQ(param_bytes(a), param_bytes(b));

  Tiny c({2, 3}, {3});
  FakeOptimizer restored;
  nn::load(c, dir.file("m.safetensors"), restored);
  EXPECT_EQ(param_bytes(a), param_bytes(c));
  ASSERT_EQ(restored.saved.size(), 2u);
  EXPECT_EQ(restored.saved[0].first, "0.momentum");
  expect_bit_identical(restored.saved[0].second, opt.saved[0].second, "momentum");
  EXPECT_EQ(restored.saved[1].first, "step");
  expect_bit_identical(restored.saved[1].second, opt.saved[1].second, "step");

  // An optimizer that refuses its state leaves the model unchanged too.
  Tiny d({2, 3}, {3});
  d.fill(-1);
  const auto before = param_bytes(d);
  expect_error(
      [&] {
        nn::load(d, dir.file("m.safetensors"),
                 [](const NamedTensors&) { throw Error("load_state: momentum shape mismatch"); });
      },
      {"load_state: momentum shape mismatch"});
  EXPECT_EQ(param_bytes(d), before);
}

TEST(Checkpoint, BuffersTravelWithTheModel) {
  struct Stats : nn::Module {
    Parameter w{Tensor::zeros({2})};
    Tensor mean = Tensor::zeros({2});
    Tensor count = Tensor::scalar(0, DType::i64);
    Stats() {
      register_parameter("w", w);
      register_buffer("mean", mean);
      register_buffer("count", count);
    }
    Var forward(const Var& x) override { return x; }
    std::string name() const override { return "Stats"; }
  };
  TempDir dir;
  Stats a;
  a.mean.fill_(0.5);
  a.count.fill_(41);
  nn::save(a, dir.file("m.safetensors"));
  const auto f = nn::load_safetensors(dir.file("m.safetensors"));
  ASSERT_EQ(f.tensors.size(), 3u);
  EXPECT_EQ(f.tensors[1].first, "mean");
  EXPECT_EQ(f.tensors[2].first, "count");
  EXPECT_EQ(f.tensors[2].second.dtype(), DType::i64);
  Stats b;
  nn::load(b, dir.file("m.safetensors"));
  expect_bit_identical(b.mean, a.mean, "mean");
  expect_bit_identical(b.count, a.count, "count");
}

TEST(Checkpoint, ReservedPrefixIsRefused) {
  // A child module named "optim" would yield parameter names that read back as optimizer state.
  struct Parent : nn::Module {
    Tiny child{{1}, {1}};
    Parent() { register_module("optim", child); }
    Var forward(const Var& x) override { return x; }
    std::string name() const override { return "Parent"; }
  } m;
  TempDir dir;
  expect_error([&] { nn::save(m, dir.file("m.safetensors")); },
               {"save: '" + dir.file("m.safetensors") +
                "': parameter name 'optim.weight' uses the prefix 'optim.' reserved"});
  struct Scheduled : nn::Module {
    Tiny child{{1}, {1}};
    Scheduled() { register_module("sched", child); }
    Var forward(const Var& x) override { return x; }
    std::string name() const override { return "Scheduled"; }
  } s;
  expect_error(
      [&] { nn::save(s, dir.file("m.safetensors")); },
      {"': parameter name 'sched.weight' uses the prefix 'sched.' reserved for scheduler"});
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Checkpoint, SchedulerStateTravelsUnderItsPrefix) {
  TempDir dir;
  Tiny a({2, 3}, {3});
  a.fill(1);
  FakeOptimizer opt, sched;
  opt.saved = {{"step", Tensor::scalar(12, DType::i64)}};
  sched.saved = {{"last_epoch", Tensor::scalar(5, DType::i64)}};
  nn::save(a, dir.file("m.safetensors"), opt, sched);
  const auto f = nn::load_safetensors(dir.file("m.safetensors"));
  ASSERT_EQ(f.tensors.size(), 4u);
  EXPECT_EQ(f.tensors[2].first, "optim.step");
  EXPECT_EQ(f.tensors[3].first, "sched.last_epoch");

  Tiny b({2, 3}, {3});
  nn::load(b, dir.file("m.safetensors"));  // weights alone: training state is not "unexpected"
  EXPECT_EQ(param_bytes(a), param_bytes(b));
  FakeOptimizer opt2, sched2;
  Tiny c({2, 3}, {3});
  nn::load(c, dir.file("m.safetensors"), opt2, sched2);
  EXPECT_EQ(param_bytes(a), param_bytes(c));
  ASSERT_EQ(opt2.saved.size(), 1u);
  EXPECT_EQ(opt2.saved[0].first, "step");
  ASSERT_EQ(sched2.saved.size(), 1u);
  EXPECT_EQ(sched2.saved[0].first, "last_epoch");
  expect_bit_identical(sched2.saved[0].second, sched.saved[0].second, "last_epoch");
}

}  // namespace
