// Printing, modelled on NumPy's repr:
//
//   tensor([[1.5, 2.0],
//           [3.0, 4.0]], dtype=float32, shape=[2, 2])
//
// Every element of one tensor is printed in one style and right-aligned to one width,
// so columns line up. Floats that are all integral print as "3."; otherwise fixed notation with as
// many decimals as the most precise element needs (up to 4 for float32, 8 for float64), or
// scientific notation when the magnitudes call for it (as NumPy: max >= 1e8, min nonzero < 1e-4,
// or max / min > 1e3; unlike NumPy, all-integral values never switch to scientific below 1e8, so
// arange(2000) stays readable). Tensors with more than 1000 elements are abbreviated: each
// dimension longer than 6 shows its first 3 and last 3 entries around "...". Rows wrap at 80
// columns.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine {

namespace {

constexpr int64_t kSummaryThreshold = 1000;
constexpr int64_t kEdgeItems = 3;
constexpr size_t kLineWidth = 80;

std::string fmt(const char* f, int prec, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, prec, v);
  return buf;
}

// Number of decimals needed to print v at precision prec once trailing zeros are dropped.
int needed_decimals(const char* f, int prec, double v) {
  std::string s = fmt(f, prec, v);
  const size_t e = s.find('e');
  std::string mant = e == std::string::npos ? s : s.substr(0, e);
  const size_t dot = mant.find('.');
  if (dot == std::string::npos) return 0;
  size_t end = mant.size();
  while (end > dot + 1 && mant[end - 1] == '0') --end;
  return static_cast<int>(end - dot - 1);
}

std::vector<std::string> format_floats(const std::vector<double>& vals, DType dtype) {
  const int prec = dtype == DType::f32 ? 4 : 8;
  double max_abs = 0, min_abs = INFINITY;
  bool integral = true;
  for (double v : vals) {
    if (!std::isfinite(v)) continue;
    const double a = std::fabs(v);
    max_abs = std::max(max_abs, a);
    if (a != 0) min_abs = std::min(min_abs, a);
    if (v != std::trunc(v)) integral = false;
  }
  const bool have_nonzero = std::isfinite(min_abs);
  const bool sci = max_abs >= 1e8 || (have_nonzero && !integral && min_abs < 1e-4) ||
                   (have_nonzero && !integral && max_abs / min_abs > 1e3);
  const char* f = sci ? "%.*e" : "%.*f";
  int decimals = 0;
  if (sci || !integral) {
    for (double v : vals) {
      if (std::isfinite(v)) decimals = std::max(decimals, needed_decimals(f, prec, v));
    }
  }
  std::vector<std::string> out;
  out.reserve(vals.size());
  for (double v : vals) {
    if (std::isnan(v)) {
      out.emplace_back("nan");
    } else if (std::isinf(v)) {
      out.emplace_back(v > 0 ? "inf" : "-inf");
    } else {
      std::string s = fmt(f, decimals, v);
      if (decimals == 0) {
        // "3." and "1.e+08": the dot marks a floating value even when it is integral.
        // (Built by concatenation: std::string::insert trips GCC 12's bogus -Wrestrict.)
        const size_t e = s.find('e');
        s = e == std::string::npos ? s + '.' : s.substr(0, e) + '.' + s.substr(e);
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

class Printer {
 public:
  Printer(const Tensor& t, size_t indent)
      : t_(t), summarize_(t.numel() > kSummaryThreshold), indent_(indent) {}

  void print(std::ostream& os) {
    collect();
    for (const auto& c : cells_) width_ = std::max(width_, c.size());
    next_ = 0;
    if (t_.rank() == 0) {
      os << cells_[0];
      return;
    }
    col_ = indent_;
    emit(os, 0);
  }

 private:
  // Indices of dimension d that are shown; -1 marks the "..." gap.
  std::vector<int64_t> shown(int d) const {
    const int64_t n = t_.shape()[d];
    std::vector<int64_t> idx;
    if (summarize_ && n > 2 * kEdgeItems) {
      for (int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
      idx.push_back(-1);
      for (int64_t i = n - kEdgeItems; i < n; ++i) idx.push_back(i);
    } else {
      for (int64_t i = 0; i < n; ++i) idx.push_back(i);
    }
    return idx;
  }

  void collect() {
    detail::visit_dtype(t_.dtype(), [&](auto tag) {
      using T = AFFINE_T(tag);
      const T* base = t_.data<T>();
      std::vector<T> vals;
      walk(0, 0, [&](int64_t off) { vals.push_back(base[off]); });
      if constexpr (std::is_same_v<T, int64_t>) {
        for (int64_t v : vals) cells_.push_back(std::to_string(v));
      } else {
        cells_ = format_floats(std::vector<double>(vals.begin(), vals.end()), t_.dtype());
      }
    });
  }

  template <class Fn>
  void walk(int d, int64_t off, Fn&& fn) {
    if (d == t_.rank()) {
      fn(off);
      return;
    }
    for (int64_t i : shown(d)) {
      if (i >= 0) walk(d + 1, off + i * t_.strides()[d], fn);
    }
  }

  void emit(std::ostream& os, int d) {
    os << '[';
    ++col_;
    const bool last = d == t_.rank() - 1;
    bool first = true;
    for (int64_t i : shown(d)) {
      if (!first) {
        os << ',';
        ++col_;
        if (last) {
          const size_t item = i < 0 ? 3 : width_;
          if (col_ + 1 + item + 2 > kLineWidth) {
            os << '\n' << std::string(indent_ + static_cast<size_t>(d) + 1, ' ');
            col_ = indent_ + static_cast<size_t>(d) + 1;
          } else {
            os << ' ';
            ++col_;
          }
        } else {
          // One newline between rows, two between matrices, and so on (as NumPy).
          os << std::string(static_cast<size_t>(t_.rank() - d - 1), '\n')
             << std::string(indent_ + static_cast<size_t>(d) + 1, ' ');
          col_ = indent_ + static_cast<size_t>(d) + 1;
        }
      }
      first = false;
      if (i < 0) {
        os << "...";
        col_ += 3;
      } else if (last) {
        const std::string& c = cells_[next_++];
        os << std::string(width_ - c.size(), ' ') << c;
        col_ += width_;
      } else {
        emit(os, d + 1);
      }
    }
    os << ']';
    ++col_;
  }

  const Tensor& t_;
  bool summarize_;
  size_t indent_;
  std::vector<std::string> cells_;
  size_t width_ = 0;
  size_t next_ = 0;
  size_t col_ = 0;
};

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  os << "tensor(";
  Printer(t, 7).print(os);
  return os << ", dtype=" << dtype_name(t.dtype()) << ", shape=" << to_string(t.shape()) << ")";
}

std::string to_string(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

}  // namespace affine
