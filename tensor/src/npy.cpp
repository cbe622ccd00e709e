// NumPy .npy files (format spec: numpy/lib/format.py, "NEP 1").
//
//   "\x93NUMPY" major minor  header_len (uint16 LE for 1.0; uint32 LE for 2.0 and 3.0)
//   header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//           padded with spaces and ending in '\n'
//   data:   numel * itemsize raw little-endian bytes, C order
//
// Files come from outside, so everything is validated before the data buffer is allocated: the
// preamble, the header length against the bytes actually present, the dict (a small strict parser
// for exactly the literal NumPy writes, not a general Python evaluator), the dtype, the shape and
// its byte count, and that the data length matches exactly. Every message reads
// "<op>: '<file>': <problem>".
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "affine/tensor/internal/access.hpp"
#include "affine/tensor/npy.hpp"
#include "affine_common/atomic_file.hpp"

namespace affine {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

struct NpyHeader {
  DType dtype = DType::f32;
  Shape shape;
  int64_t numel = 0;
  uint64_t data_bytes = 0;
  size_t data_offset = 0;  // where the data starts in the file
};

class Fail {
 public:
  Fail(const char* op, const std::string& name) : prefix_(std::string(op) + ": '" + name + "': ") {}
  [[noreturn]] void operator()(const std::string& problem) const { throw Error(prefix_ + problem); }

 private:
  std::string prefix_;
};

uint32_t read_le(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Parses the preamble (the first min(12, file size) bytes; a 1.0 preamble is 10 bytes) and
// returns {header offset, header length}, after checking the header fits in file_size.
std::pair<size_t, size_t> parse_preamble(const unsigned char* p, size_t avail, uint64_t file_size,
                                         const Fail& fail) {
  if (file_size < kMagicLen || avail < kMagicLen) {
    fail("truncated: the file is " + std::to_string(file_size) +
         " bytes, too short for the .npy magic string");
  }
  if (std::memcmp(p, kMagic, kMagicLen) != 0) {
    fail("bad magic: the file does not start with \"\\x93NUMPY\", so it is not a .npy file");
  }
  if (file_size < kMagicLen + 2 || avail < kMagicLen + 2) {
    fail("truncated: the file ends inside the format version");
  }
  const int major = p[6], minor = p[7];
  if (!((major == 1 || major == 2 || major == 3) && minor == 0)) {
    fail("unsupported format version " + std::to_string(major) + "." + std::to_string(minor) +
         " (supported: 1.0, 2.0, 3.0)");
  }
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t header_off = kMagicLen + 2 + len_bytes;
  if (file_size < header_off || avail < header_off) {
    fail("truncated: the file ends inside the header length field");
  }
  const size_t header_len = read_le(p + 8, static_cast<int>(len_bytes));
  if (header_len > file_size - header_off) {
    fail("header length " + std::to_string(header_len) + " runs past the end of the file (" +
         std::to_string(file_size - header_off) + " bytes follow the preamble)");
  }
  return {header_off, header_len};
}

// A strict parser for the dict literal NumPy writes.
class DictParser {
 public:
  DictParser(std::string_view s, const Fail& fail) : s_(s), fail_(fail) {}

  NpyHeader parse() {
    std::optional<std::string> descr;
    std::optional<bool> fortran;
    std::optional<Shape> shape;
    ws();
    expect('{', "the header does not start with '{'");
    for (;;) {
      ws();
      if (peek() == '}') {
        ++i_;
        break;
      }
      const std::string key = string_literal("a quoted key");
      ws();
      expect(':', "expected ':' after key '" + key + "'");
      ws();
      if (key == "descr") {
        if (descr) malformed("duplicate key 'descr'");
        descr = string_literal("a quoted dtype string for 'descr'");
      } else if (key == "fortran_order") {
        if (fortran) malformed("duplicate key 'fortran_order'");
        fortran = boolean();
      } else if (key == "shape") {
        if (shape) malformed("duplicate key 'shape'");
        shape = tuple();
      } else {
        malformed("unexpected key '" + key + "' (expected 'descr', 'fortran_order', 'shape')");
      }
      ws();
      if (peek() == ',') {
        ++i_;
      } else if (peek() == '}') {
        ++i_;
        break;
      } else {
        malformed("expected ',' or '}' after the value of '" + key + "'");
      }
    }
    ws();
    if (i_ != s_.size()) malformed("unexpected text after the closing '}'");
    if (!descr) malformed("the 'descr' key is missing");
    if (!fortran) malformed("the 'fortran_order' key is missing");
    if (!shape) malformed("the 'shape' key is missing");

    NpyHeader h;
    const std::string& d = *descr;
    if (d == "<f4") {
      h.dtype = DType::f32;
    } else if (d == "<f8") {
      h.dtype = DType::f64;
    } else if (d == "<i8") {
      h.dtype = DType::i64;
    } else if (d.size() >= 2 && d[0] == '>') {
      fail_("big-endian dtype '" + d + "' is not supported (in NumPy: a.astype('<" + d.substr(1) +
            "'))");
    } else {
      fail_("unsupported dtype '" + d + "' (supported: '<f4', '<f8', '<i8')");
    }
    if (*fortran) {
      fail_(
          "Fortran-order (column-major) arrays are not supported (in NumPy: save "
          "np.ascontiguousarray(a))");
    }
    h.shape = *shape;
    for (int k = 0; k < h.shape.size(); ++k) {
      if (h.shape[k] < 0) {
        fail_("shape " + to_string(h.shape) + " has negative dimension " +
              std::to_string(h.shape[k]));
      }
    }
    bool zero = false;
    for (int64_t v : h.shape) zero = zero || v == 0;
    int64_t n = 1;
    uint64_t bytes = 0;
    if (!zero) {
      for (int64_t v : h.shape) {
        if (__builtin_mul_overflow(n, v, &n)) {
          fail_("shape " + to_string(h.shape) + " has too many elements (the product overflows)");
        }
      }
      if (__builtin_mul_overflow(static_cast<uint64_t>(n), uint64_t{dtype_size(h.dtype)}, &bytes) ||
          bytes > static_cast<uint64_t>(INT64_MAX)) {
        fail_("shape " + to_string(h.shape) + " of " + std::string(dtype_name(h.dtype)) +
              " needs more bytes than can be addressed");
      }
    } else {
      n = 0;
    }
    h.numel = n;
    h.data_bytes = bytes;
    return h;
  }

 private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  [[noreturn]] void malformed(const std::string& what) const {
    fail_("malformed header: " + what + " (at header byte " + std::to_string(i_) + ")");
  }
  void expect(char c, const std::string& what) {
    if (peek() != c) malformed(what);
    ++i_;
  }
  std::string string_literal(const std::string& what) {
    const char q = peek();
    if (q != '\'' && q != '"') malformed("expected " + what);
    ++i_;
    std::string out;
    while (i_ < s_.size() && s_[i_] != q) {
      // NumPy's keys and dtype strings never need escapes; refusing them keeps the parser simple.
      if (s_[i_] == '\\') malformed("escape sequences are not supported in strings");
      if (s_[i_] == '\n') break;  // Python strings cannot span lines: unterminated
      out += s_[i_++];
    }
    if (i_ >= s_.size() || s_[i_] != q) malformed("unterminated string");
    ++i_;
    return out;
  }
  bool boolean() {
    if (s_.substr(i_, 4) == "True") {
      i_ += 4;
      return true;
    }
    if (s_.substr(i_, 5) == "False") {
      i_ += 5;
      return false;
    }
    malformed("expected True or False for 'fortran_order'");
  }
  int64_t integer() {
    bool neg = false;
    if (peek() == '-') {
      neg = true;
      ++i_;
      ws();
    }
    if (!(peek() >= '0' && peek() <= '9')) malformed("expected an integer in 'shape'");
    int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const int64_t digit = peek() - '0';
      if (__builtin_mul_overflow(v, int64_t{10}, &v) || __builtin_add_overflow(v, digit, &v)) {
        fail_("shape dimension does not fit in int64 (at header byte " + std::to_string(i_) + ")");
      }
      ++i_;
    }
    return neg ? -v : v;
  }
  Shape tuple() {
    expect('(', "expected '(' to start 'shape'");
    Shape shape;
    ws();
    if (peek() == ')') {
      ++i_;
      return shape;
    }
    for (;;) {
      const int64_t v = integer();
      if (shape.size() == kMaxRank) {
        fail_("shape has more than " + std::to_string(kMaxRank) +
              " dimensions, the largest rank affine supports");
      }
      shape.push_back(v);
      ws();
      if (peek() == ',') {
        ++i_;
        ws();
        if (peek() == ')') {
          ++i_;
          return shape;
        }
      } else if (peek() == ')') {
        if (shape.size() == 1) malformed("a 1-element shape tuple needs a trailing comma: (n,)");
        ++i_;
        return shape;
      } else {
        malformed("expected ',' or ')' in 'shape'");
      }
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  const Fail& fail_;
};

void check_data_size(const NpyHeader& h, uint64_t have, const Fail& fail) {
  const std::string what = "shape " + to_string(h.shape) + " of " +
                           std::string(dtype_name(h.dtype)) + " needs " +
                           std::to_string(h.data_bytes);
  if (have < h.data_bytes) {
    fail("data is " + std::to_string(have) + " bytes but " + what);
  }
  if (have > h.data_bytes) {
    fail(std::to_string(have - h.data_bytes) + " trailing bytes after the data (" + what + ")");
  }
}

// .npy data is little-endian; a big-endian host swaps after reading / before writing.
void to_from_little_endian(Tensor& t) {
  if constexpr (std::endian::native == std::endian::big) {
    auto* p = static_cast<unsigned char*>(TensorAccess::storage(t)->data);
    const size_t w = dtype_size(t.dtype());
    for (int64_t i = 0; i < t.numel(); ++i) std::reverse(p + i * w, p + (i + 1) * w);
  } else {
    (void)t;
  }
}

NpyHeader parse_header_bytes(const unsigned char* p, size_t avail, uint64_t file_size,
                             const Fail& fail) {
  const auto [off, len] = parse_preamble(p, avail, file_size, fail);
  if (avail < off + len) fail("truncated: the header is incomplete");
  DictParser parser(std::string_view(reinterpret_cast<const char*>(p) + off, len), fail);
  NpyHeader h = parser.parse();
  h.data_offset = off + len;
  return h;
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& name) {
  const Fail fail("parse_npy", name);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const NpyHeader h = parse_header_bytes(p, bytes.size(), bytes.size(), fail);
  check_data_size(h, bytes.size() - h.data_offset, fail);
  Tensor t = Tensor::empty(h.shape, h.dtype);
  if (h.data_bytes > 0) {
    std::memcpy(TensorAccess::storage(t)->data, p + h.data_offset, h.data_bytes);
  }
  to_from_little_endian(t);
  return t;
}

Tensor load_npy(const std::string& path) {
  const Fail fail("load_npy", path);
  std::error_code dir_ec;
  if (std::filesystem::is_directory(path, dir_ec)) {
    throw IoError("load_npy", path, "is a directory, not a .npy file", EISDIR);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw IoError("load_npy", path, "cannot open the file: " + std::string(std::strerror(err)),
                  err);
  }
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  if (end < 0) throw IoError("load_npy", path, "cannot determine the file size", errno);
  const auto file_size = static_cast<uint64_t>(end);
  in.seekg(0, std::ios::beg);

  // Preamble first (it says how long the header is), then exactly the header.
  unsigned char pre[12] = {};
  const size_t pre_len = static_cast<size_t>(std::min<uint64_t>(file_size, sizeof pre));
  if (!in.read(reinterpret_cast<char*>(pre), static_cast<std::streamsize>(pre_len))) {
    fail("read error in the preamble");
  }
  const auto [off, len] = parse_preamble(pre, pre_len, file_size, fail);
  std::string head(off + len, '\0');
  in.seekg(0, std::ios::beg);
  if (!in.read(head.data(), static_cast<std::streamsize>(head.size()))) {
    fail("read error in the header");
  }
  const NpyHeader h = parse_header_bytes(reinterpret_cast<const unsigned char*>(head.data()),
                                         head.size(), file_size, fail);
  check_data_size(h, file_size - h.data_offset, fail);

  // Only now, with the size proven to match the file, is the data buffer allocated.
  Tensor t = Tensor::empty(h.shape, h.dtype);
  if (h.data_bytes > 0 && !in.read(static_cast<char*>(TensorAccess::storage(t)->data),
                                   static_cast<std::streamsize>(h.data_bytes))) {
    fail("read error in the data");
  }
  to_from_little_endian(t);
  return t;
}

void save_npy(const std::string& path, const Tensor& t_in) {
  const Fail fail("save_npy", path);
  if (!t_in.defined()) fail("the tensor is undefined");
  Tensor t = t_in.contiguous();
  if constexpr (std::endian::native == std::endian::big) {
    t = t.clone();
    to_from_little_endian(t);
  }
  std::string dict = "{'descr': '";
  dict += t.dtype() == DType::f32 ? "<f4" : t.dtype() == DType::f64 ? "<f8" : "<i8";
  dict += "', 'fortran_order': False, 'shape': (";
  for (int d = 0; d < t.rank(); ++d) {
    dict += std::to_string(t.shape()[d]);
    if (d + 1 < t.rank() || t.rank() == 1) dict += ",";
    if (d + 1 < t.rank()) dict += " ";
  }
  dict += "), }";
  // Pad with spaces so the data starts on a 64-byte boundary, as NumPy does; the header ends in
  // '\n'. Version 2.0 only if the header outgrows version 1.0's 16-bit length.
  const bool v2 = dict.size() + 1 + 10 > 65535;
  const size_t pre = v2 ? 12 : 10;
  const size_t total = (pre + dict.size() + 1 + 63) / 64 * 64;
  std::string header(kMagic, kMagicLen);
  header += static_cast<char>(v2 ? 2 : 1);
  header += '\0';
  const size_t hlen = total - pre;
  for (size_t i = 0; i < (v2 ? 4u : 2u); ++i) header += static_cast<char>((hlen >> (8 * i)) & 0xff);
  header += dict;
  header.append(total - header.size() - 1, ' ');
  header += '\n';

  // One protocol for every writer (affine_common/atomic_file.hpp): temporary file beside the
  // target, fsync, rename, fsync of the folder. A failure leaves no file and the target untouched.
  const size_t nbytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
  const char* base = nbytes == 0 ? header.data()
                                 : static_cast<const char*>(TensorAccess::storage(t)->data) +
                                       t.offset() * static_cast<int64_t>(dtype_size(t.dtype()));
  const common::AtomicWriteStatus st =
      common::write_file_atomic(path, {header, std::string_view(base, nbytes)});
  if (st) {
    throw IoError("save_npy", path, std::string("cannot ") + st.step + ": " + std::strerror(st.err),
                  st.err);
  }
}

}  // namespace affine
