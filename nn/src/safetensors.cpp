// The safetensors format at the tensor level: a validating reader and an atomic writer.
//
// Reading is split in two: parse_header() turns the JSON header into a fully validated layout
// (every dtype, shape, offset and the tiling of the data section checked against the real data
// size), and only then does materialize() allocate tensors and copy bytes in. A hostile file can
// therefore make us allocate at most its header (capped) before being refused.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "affine_common/atomic_file.hpp"

#include "affine/nn/checkpoint.hpp"
#include "affine/tensor/error.hpp"
#include "affine/tensor/internal/access.hpp"
#include "safetensors_dtype.hpp"

namespace affine::nn {

namespace {

using json = nlohmann::json;

/// Names the operation and the file in every message.
struct Ctx {
  const char* op;
  const std::string& file;
};

[[noreturn]] void fail(const Ctx& c, const std::string& problem) {
  throw Error(std::string(c.op) + ": '" + c.file + "': " + problem);
}

// ---- dtypes ------------------------------------------------------------------------------------

bool st_dtype_from_name(std::string_view s, DType& out) {
  if (s == "F32") {
    out = DType::f32;
    return true;
  }
  if (s == "F64") {
    out = DType::f64;
    return true;
  }
  if (s == "I64") {
    out = DType::i64;
    return true;
  }
  return false;
}

// Dtypes the format defines but affine cannot hold: refused by name rather than as "unknown", so
// a user with a half-precision checkpoint learns what to convert.
bool is_known_unsupported_dtype(std::string_view s) {
  static constexpr std::string_view kKnown[] = {
      "BOOL", "U8",      "I8",      "U16",     "I16", "F16",     "BF16",    "U32", "I32",
      "U64",  "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4",  "F6_E2M3", "F6_E3M2", "C64"};
  return std::find(std::begin(kKnown), std::end(kKnown), s) != std::end(kKnown);
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// ---- UTF-8 -------------------------------------------------------------------------------------

/// Position of the first byte that is not part of well-formed UTF-8 (RFC 3629: no overlongs, no
/// surrogates, nothing above U+10FFFF), or npos.
size_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF)
      len = 2;
    else if (c == 0xE0) {
      len = 3;
      lo = 0xA0;
    } else if (c >= 0xE1 && c <= 0xEC)
      len = 3;
    else if (c == 0xED) {
      len = 3;
      hi = 0x9F;
    } else if (c >= 0xEE && c <= 0xEF)
      len = 3;
    else if (c == 0xF0) {
      len = 4;
      lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3)
      len = 4;
    else if (c == 0xF4) {
      len = 4;
      hi = 0x8F;
    } else
      return i;
    if (n - i < len) return i;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

// ---- JSON --------------------------------------------------------------------------------------

// A valid header nests three deep at most: the root object, a tensor entry, its shape array.
constexpr size_t kMaxJsonDepth = 3;

/// Builds a json DOM like nlohmann's own parser, but refuses duplicate keys (nlohmann keeps the
/// last one silently, which would let two tensors claim one name) and nesting deeper than a valid
/// header ever needs (so a 100 MB "[[[[..." cannot exhaust memory), stopping at the first problem.
class HeaderSax {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(number_integer_t v) { return put(json(v)); }
  bool number_unsigned(number_unsigned_t v) { return put(json(v)); }
  bool number_float(number_float_t v, const string_t&) { return put(json(v)); }
  bool string(string_t& v) { return put(json(std::move(v))); }
  bool binary(binary_t&) { return fail_with("header contains binary data"); }

  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(string_t& k) {
    json& obj = *stack_.back();
    if (obj.contains(k)) {
      if (stack_.size() == 1) {
        return fail_with(k == "__metadata__" ? "header has '__metadata__' twice"
                                             : "tensor '" + k + "' appears twice in the header");
      }
      if (stack_.size() == 2 && root_key_ == "__metadata__") {
        return fail_with("__metadata__ has key '" + k + "' twice");
      }
      return fail_with("entry of tensor '" + root_key_ + "' has key '" + k + "' twice");
    }
    if (stack_.size() == 1) {
      root_key_ = k;
      root_keys.push_back(k);
    }
    key_ = std::move(k);
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    // Drop nlohmann's "[json.exception.parse_error.101] " tag; keep the position and reason.
    std::string what = ex.what();
    if (auto p = what.find("] "); p != std::string::npos && what.starts_with("[json.")) {
      what = what.substr(p + 2);
    }
    return fail_with("header is not valid JSON: " + what);
  }

  json root;
  std::vector<std::string> root_keys;  // the header's top-level keys in file order (json sorts)
  std::string error;                   // empty unless parsing stopped at a problem

 private:
  bool fail_with(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }

  // Places a value where the parser is: the root, the pending key of an object, or an array.
  json* place(json&& v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    json& parent = *stack_.back();
    if (parent.is_object()) return &(parent[key_] = std::move(v));
    parent.push_back(std::move(v));
    return &parent.back();  // stays valid: nothing else is appended here until this one closes
  }

  bool put(json&& v) {
    place(std::move(v));
    return true;
  }

  bool open(json&& container) {
    if (stack_.size() >= kMaxJsonDepth) {
      return fail_with("header nests deeper than a safetensors header can (" +
                       std::to_string(kMaxJsonDepth) + " levels)");
    }
    stack_.push_back(place(std::move(container)));
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  std::vector<json*> stack_;
  std::string key_;
  std::string root_key_;
};

/// "5", "-1", "2.5", "\"3\"", for messages about a value of the wrong kind.
std::string show(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

// ---- the validated layout ----------------------------------------------------------------------

struct Entry {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets within the data section
  uint64_t end = 0;
};

struct Layout {
  std::vector<Entry> entries;  // sorted by data offset
  Metadata metadata;
};

/// A JSON number that is a non-negative integer fitting int64 (dimensions, offsets).
bool as_index(const json& v, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
  } else if (v.is_number_integer()) {
    if (v.get<int64_t>() < 0) return false;
    out = static_cast<uint64_t>(v.get<int64_t>());
  } else {
    return false;
  }
  return out <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

Entry parse_entry(const Ctx& c, const std::string& name, const json& v) {
  const std::string who = "tensor '" + name + "'";
  if (!v.is_object()) fail(c, who + " is " + show(v) + ", not an object");
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets") {
      fail(c, who + " has unexpected key '" + it.key() +
                  "' (expected exactly dtype, shape and data_offsets)");
    }
  }
  for (const char* k : {"dtype", "shape", "data_offsets"}) {
    if (!v.contains(k)) fail(c, who + " has no '" + k + "'");
  }

  Entry e;
  e.name = name;

  const json& dt = v["dtype"];
  if (!dt.is_string()) fail(c, who + " has dtype " + show(dt) + ", not a string");
  const auto& dts = dt.get_ref<const std::string&>();
  if (!st_dtype_from_name(dts, e.dtype)) {
    if (is_known_unsupported_dtype(dts)) {
      fail(c, who + " has dtype " + dts + ", which affine does not support (F32, F64, I64)");
    }
    fail(c, who + " has unknown dtype '" + dts + "' (affine reads F32, F64, I64)");
  }

  const json& sh = v["shape"];
  if (!sh.is_array()) fail(c, who + " has shape " + show(sh) + ", not an array");
  if (sh.size() > static_cast<size_t>(kMaxRank)) {
    fail(c, who + " has rank " + std::to_string(sh.size()) + "; affine supports at most " +
                std::to_string(kMaxRank) + " dimensions");
  }
  for (size_t i = 0; i < sh.size(); ++i) {
    uint64_t d = 0;
    if (!as_index(sh[i], d)) {
      fail(c, who + " has dimension " + std::to_string(i) + " = " + show(sh[i]) +
                  " (dimensions are non-negative integers below 2^63)");
    }
    e.shape.push_back(static_cast<int64_t>(d));
  }
  // Overflow-checked products must fit int64. Zero dimensions are skipped, which is stricter than
  // the reference: [0, 2^62, 2^62] holds nothing, but its strides would not be representable.
  int64_t extent = 1;
  bool has_zero = false;
  for (int64_t d : e.shape) {
    if (d == 0) {
      has_zero = true;
    } else if (__builtin_mul_overflow(extent, d, &extent)) {
      fail(c, who + " has shape " + shape_str(e.shape) + " whose element count overflows int64");
    }
  }
  int64_t nbytes = 0;
  if (__builtin_mul_overflow(extent, static_cast<int64_t>(dtype_size(e.dtype)), &nbytes)) {
    fail(c, who + " has shape " + shape_str(e.shape) + " whose byte size overflows int64");
  }
  if (has_zero) nbytes = 0;

  const json& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !as_index(off[0], e.begin) ||
      !as_index(off[1], e.end)) {
    fail(c, who + " has data_offsets " + show(off) +
                ", not a pair [begin, end] of non-negative integers");
  }
  const std::string offs = "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
  if (e.begin > e.end) fail(c, who + " has data_offsets " + offs + " with begin > end");
  if (e.end - e.begin != static_cast<uint64_t>(nbytes)) {
    fail(c, who + " has data_offsets " + offs + " (" + std::to_string(e.end - e.begin) +
                " bytes) but shape " + shape_str(e.shape) + " of " +
                detail::safetensors_dtype_name(e.dtype) + " needs " + std::to_string(nbytes) +
                " bytes");
  }
  return e;
}

/// Validates the JSON header against a data section of data_size bytes. Allocates nothing but
/// the (already capped) header's DOM.
Layout parse_header(const Ctx& c, std::string_view header, uint64_t data_size) {
  if (header.empty()) fail(c, "header is empty (header length 0)");
  if (size_t bad = find_invalid_utf8(header); bad != std::string_view::npos) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(header[bad]));
    fail(c, "header is not valid UTF-8 (byte " + std::string(hex) + " at header offset " +
                std::to_string(bad) + ")");
  }
  // nlohmann's lexer takes a NUL byte for the end of input, which would silently ignore
  // whatever follows it; JSON allows NUL nowhere outside a string and only escaped inside one.
  if (size_t nul = header.find('\0'); nul != std::string_view::npos) {
    fail(c, "header is not valid JSON: NUL byte at header offset " + std::to_string(nul));
  }
  HeaderSax sax;
  const bool ok = json::sax_parse(header.begin(), header.end(), &sax, json::input_format_t::json,
                                  /*strict=*/true);
  if (!ok || !sax.error.empty()) {
    fail(c, sax.error.empty() ? std::string("header is not valid JSON") : sax.error);
  }
  if (!sax.root.is_object()) fail(c, "header is " + show(sax.root) + ", not a JSON object");

  Layout out;
  // File order, so that equal offsets (zero-size tensors) keep the order the writer gave them.
  for (const std::string& key : sax.root_keys) {
    const json& value = sax.root.at(key);
    if (key == "__metadata__") {
      const json& m = value;
      if (!m.is_object()) fail(c, "__metadata__ is " + show(m) + ", not an object of strings");
      for (auto mi = m.begin(); mi != m.end(); ++mi) {
        if (!mi.value().is_string()) {
          fail(c, "__metadata__ value of '" + mi.key() + "' is " + show(mi.value()) +
                      ", not a string");
        }
        out.metadata.emplace(mi.key(), mi.value().get<std::string>());
      }
      continue;
    }
    out.entries.push_back(parse_entry(c, key, value));
  }

  for (const Entry& e : out.entries) {
    if (e.end > data_size) {
      fail(c, "tensor '" + e.name + "' has data_offsets [" + std::to_string(e.begin) + ", " +
                  std::to_string(e.end) + "] past the end of the data section (" +
                  std::to_string(data_size) + " bytes; file truncated?)");
    }
  }
  // The tensors must tile the data section exactly, as the reference requires: no overlap (two
  // tensors aliasing bytes), no gap and no trailing bytes (room to smuggle unchecked data).
  std::stable_sort(out.entries.begin(), out.entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : out.entries) {
    if (e.begin < expected) {
      fail(c, "tensor '" + e.name + "' (bytes [" + std::to_string(e.begin) + ", " +
                  std::to_string(e.end) + "]) overlaps tensor '" + prev->name + "' (bytes [" +
                  std::to_string(prev->begin) + ", " + std::to_string(prev->end) + "])");
    }
    if (e.begin > expected) {
      fail(c, "gap of " + std::to_string(e.begin - expected) + " bytes in the data section " +
                  (prev ? "between tensor '" + prev->name + "' and tensor '" + e.name + "'"
                        : "before tensor '" + e.name + "'") +
                  " (tensors must be packed back to back)");
    }
    expected = e.end;
    prev = &e;
  }
  if (expected != data_size) {
    fail(c, "data section is " + std::to_string(data_size) + " bytes but the tensors cover " +
                std::to_string(expected) + " (" + std::to_string(data_size - expected) +
                " unexplained trailing bytes)");
  }
  return out;
}

uint64_t read_le_u64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

/// The file is little-endian; a big-endian host swaps each element in place.
void to_native(void* data, size_t nbytes, DType dtype) {
  if constexpr (std::endian::native == std::endian::big) {
    const size_t w = dtype_size(dtype);
    auto* b = static_cast<unsigned char*>(data);
    for (size_t i = 0; i + w <= nbytes; i += w) std::reverse(b + i, b + i + w);
  } else {
    (void)data, (void)nbytes, (void)dtype;
  }
}

/// Splits a file into (header, data size) after the length checks; `size` is the file size.
uint64_t check_header_length(const Ctx& c, uint64_t size, const unsigned char* first8) {
  if (size < 8) {
    fail(c, "file is " + std::to_string(size) +
                " bytes, too short for the 8-byte header length (truncated or not safetensors)");
  }
  const uint64_t n = read_le_u64(first8);
  if (n > kMaxSafetensorsHeader) {
    fail(c, "header length " + std::to_string(n) + " exceeds the limit of " +
                std::to_string(kMaxSafetensorsHeader) + " bytes (corrupt or not safetensors)");
  }
  if (n > size - 8) {
    fail(c, "header length " + std::to_string(n) + " runs past the end of the file (" +
                std::to_string(size) + " bytes; truncated?)");
  }
  return n;
}

/// Allocates and fills the tensors of a validated layout; read(dst, begin, nbytes) copies
/// bytes [begin, begin + nbytes) of the data section.
template <class Read>
SafetensorsFile materialize(Layout&& layout, Read&& read) {
  SafetensorsFile out;
  out.metadata = std::move(layout.metadata);
  out.tensors.reserve(layout.entries.size());
  for (Entry& e : layout.entries) {
    Tensor t = Tensor::empty(Shape(e.shape), e.dtype);
    const size_t nbytes = static_cast<size_t>(e.end - e.begin);
    if (nbytes > 0) {
      void* dst = TensorAccess::storage(t)->data;  // fresh, contiguous, offset 0
      read(dst, e.begin, nbytes);
      to_native(dst, nbytes, e.dtype);
    }
    out.tensors.emplace_back(std::move(e.name), std::move(t));
  }
  return out;
}

// ---- writing -----------------------------------------------------------------------------------

std::string errno_text(int err) { return std::system_category().message(err); }

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const Metadata& metadata) {
  const Ctx c{"save_safetensors", path};
  // Everything is checked and the header built before the temporary file exists.
  std::set<std::string_view> seen;
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    auto& m = header["__metadata__"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
  }
  std::vector<Tensor> dense;
  dense.reserve(tensors.size());
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") fail(c, "a tensor cannot be named '__metadata__'");
    if (!seen.insert(name).second) fail(c, "tensor name '" + name + "' appears twice");
    if (!t.defined()) fail(c, "tensor '" + name + "' is undefined");
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
    header[name] = {{"dtype", detail::safetensors_dtype_name(t.dtype())},
                    {"shape", t.shape().to_vector()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    dense.push_back(t.contiguous());
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::type_error&) {
    fail(c, "a tensor name or metadata string is not valid UTF-8");
  }
  // Pad with spaces (valid JSON whitespace) so the data starts 8-byte aligned, as the reference
  // writer does: readers that map the file can then view the data in place.
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > kMaxSafetensorsHeader) {
    fail(c, "header would be " + std::to_string(text.size()) + " bytes, over the limit of " +
                std::to_string(kMaxSafetensorsHeader) + " that readers accept");
  }

  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(text.size() >> (8 * i));
  std::vector<std::string_view> pieces{std::string_view(reinterpret_cast<const char*>(len), 8),
                                       text};
  std::vector<std::vector<unsigned char>> swapped;  // big-endian hosts only
  for (const Tensor& t : dense) {
    const size_t nbytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
    if (nbytes == 0) continue;
    const auto* src = static_cast<const unsigned char*>(TensorAccess::storage(t)->data) +
                      static_cast<size_t>(t.offset()) * dtype_size(t.dtype());
    if constexpr (std::endian::native != std::endian::little) {
      std::vector<unsigned char>& le = swapped.emplace_back(src, src + nbytes);
      to_native(le.data(), nbytes, t.dtype());  // the swap is its own inverse
      src = le.data();
    }
    pieces.emplace_back(reinterpret_cast<const char*>(src), nbytes);
  }
  // One protocol for every writer (affine_common/atomic_file.hpp): temporary file beside the
  // target, fsync, rename, fsync of the folder. A failure leaves no file and the target untouched.
  const common::AtomicWriteStatus st = common::write_file_atomic(path, pieces);
  if (st) {
    throw IoError(c.op, path, std::string("cannot ") + st.step + ": " + errno_text(st.err), st.err);
  }
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& name) {
  const Ctx c{"parse_safetensors", name};
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint64_t n = check_header_length(c, bytes.size(), p);
  const uint64_t data_size = bytes.size() - 8 - n;
  Layout layout = parse_header(c, bytes.substr(8, n), data_size);
  const unsigned char* data = p + 8 + n;
  return materialize(std::move(layout), [data](void* dst, uint64_t begin, size_t nbytes) {
    std::memcpy(dst, data + begin, nbytes);
  });
}

SafetensorsFile load_safetensors(const std::string& path) {
  const Ctx c{"load_safetensors", path};
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw IoError(c.op, path, "is a directory, not a file", EISDIR);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw IoError(c.op, path, "cannot open: " + errno_text(err), err);
  }
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  if (end < 0) fail(c, "cannot determine the file size");
  const auto size = static_cast<uint64_t>(end);
  in.seekg(0);

  unsigned char first8[8] = {};
  if (size >= 8 && !in.read(reinterpret_cast<char*>(first8), 8)) fail(c, "read failed");
  const uint64_t n = check_header_length(c, size, first8);
  std::string header(static_cast<size_t>(n), '\0');  // n is capped and within the file
  if (!in.read(header.data(), static_cast<std::streamsize>(n))) fail(c, "read failed");
  Layout layout = parse_header(c, header, size - 8 - n);
  header = std::string();

  const uint64_t data_start = 8 + n;
  return materialize(std::move(layout), [&](void* dst, uint64_t begin, size_t nbytes) {
    // Tensors are read straight into their own storage: no second copy of the file in memory.
    in.seekg(static_cast<std::streamoff>(data_start + begin));
    if (!in.read(static_cast<char*>(dst), static_cast<std::streamsize>(nbytes))) {
      fail(c, "read failed at byte " + std::to_string(data_start + begin) +
                  " (was the file changed while loading?)");
    }
  });
}

namespace detail {

const char* safetensors_dtype_name(DType d) {
  switch (d) {
    case DType::f32:
      return "F32";
    case DType::f64:
      return "F64";
    case DType::i64:
      return "I64";
  }
  return "?";
}

}  // namespace detail

}  // namespace affine::nn
