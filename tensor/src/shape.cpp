#include "affine/tensor/shape.hpp"

#include <ostream>
#include <string>

#include "affine/tensor/error.hpp"

namespace affine {

namespace {
[[noreturn]] void throw_rank(const char* what, size_t n) {
  throw Error(std::string(what) + ": rank " + std::to_string(n) + " exceeds the maximum rank " +
              std::to_string(kMaxRank));
}
}  // namespace

Dims::Dims(std::initializer_list<int64_t> values) {
  if (values.size() > static_cast<size_t>(kMaxRank)) throw_rank("Dims", values.size());
  for (int64_t v : values) v_[static_cast<size_t>(size_++)] = v;
}

Dims::Dims(const std::vector<int64_t>& values) {
  if (values.size() > static_cast<size_t>(kMaxRank)) throw_rank("Dims", values.size());
  for (int64_t v : values) v_[static_cast<size_t>(size_++)] = v;
}

Dims Dims::filled(int n, int64_t value) {
  if (n < 0 || n > kMaxRank) throw_rank("Dims::filled", static_cast<size_t>(n < 0 ? 0 : n));
  Dims d;
  for (int i = 0; i < n; ++i) d.v_[static_cast<size_t>(i)] = value;
  d.size_ = n;
  return d;
}

void Dims::push_back(int64_t value) {
  if (size_ >= kMaxRank) throw_rank("Dims::push_back", static_cast<size_t>(size_) + 1);
  v_[static_cast<size_t>(size_++)] = value;
}

void Dims::insert(int pos, int64_t value) {
  if (size_ >= kMaxRank) throw_rank("Dims::insert", static_cast<size_t>(size_) + 1);
  if (pos < 0 || pos > size_) {
    throw Error("Dims::insert: position " + std::to_string(pos) + " out of range for size " +
                std::to_string(size_));
  }
  for (int i = size_; i > pos; --i) v_[static_cast<size_t>(i)] = v_[static_cast<size_t>(i - 1)];
  v_[static_cast<size_t>(pos)] = value;
  ++size_;
}

void Dims::erase(int pos) {
  if (pos < 0 || pos >= size_) {
    throw Error("Dims::erase: position " + std::to_string(pos) + " out of range for size " +
                std::to_string(size_));
  }
  for (int i = pos; i + 1 < size_; ++i) v_[static_cast<size_t>(i)] = v_[static_cast<size_t>(i + 1)];
  --size_;
  v_[static_cast<size_t>(size_)] = 0;  // keeps operator== independent of stale entries
}

bool operator==(const Dims& a, const Dims& b) {
  if (a.size_ != b.size_) return false;
  for (int i = 0; i < a.size_; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

int64_t shape_numel(const Shape& shape, const char* op) {
  int64_t n = 1;
  for (int i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) {
      throw Error(std::string(op) + ": shape " + to_string(shape) + " has negative dimension " +
                  std::to_string(shape[i]) + " at axis " + std::to_string(i));
    }
  }
  // Overflow is only real when no dimension is zero: [0, 2^62, 2^62] is a valid empty shape.
  for (int i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) return 0;
  }
  for (int i = 0; i < shape.size(); ++i) {
    if (__builtin_mul_overflow(n, shape[i], &n)) {
      throw Error(std::string(op) + ": shape " + to_string(shape) +
                  " has too many elements (the product overflows int64)");
    }
  }
  return n;
}

Strides contiguous_strides(const Shape& shape) {
  Strides s = Dims::filled(shape.size(), 1);
  int64_t acc = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    s[i] = acc;
    // Saturating: strides of an unrepresentable shape are never used (shape_numel refuses it).
    if (shape[i] > 0 && __builtin_mul_overflow(acc, shape[i], &acc)) acc = INT64_MAX;
  }
  return s;
}

std::string to_string(const Dims& dims) {
  std::string s = "[";
  for (int i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(dims[i]);
  }
  s += "]";
  return s;
}

std::ostream& operator<<(std::ostream& os, const Dims& dims) { return os << to_string(dims); }

int normalize_axis(int64_t axis, int rank, const char* op) {
  // Rank 0 has no axes at all, so every axis is out of range there.
  if (axis < -rank || axis >= rank) {
    throw Error(std::string(op) + ": axis " + std::to_string(axis) +
                " is out of range for a tensor of rank " + std::to_string(rank) +
                (rank > 0
                     ? " (valid: " + std::to_string(-rank) + ".." + std::to_string(rank - 1) + ")"
                     : std::string(" (it has no axes)")));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

}  // namespace affine
