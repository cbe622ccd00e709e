// Internal: plane rotations on the columns of a column-major matrix, recorded and applied later in
// cache-sized row strips (the eigenvector/singular-vector half of the tridiagonal QL and
// bidiagonal QR iterations).
//
// Applied one at a time, as EISPACK's tql2 and LINPACK's dsvdc do, every QL/QR sweep streams the
// whole n x n vector matrix through memory for 6 flops per element: at n = 1024 that is memory
// bound. Here the iteration only records its rotations (the values of c and s) while it runs on the
// O(n) tridiagonal/bidiagonal data; a flush then applies thousands of rotations to one strip of W
// rows at a time, a strip of every column being small enough (n * W elements) to stay in L2. A
// sweep of adjacent rotations (j, j+1), (j+1, j+2), ... keeps the shared column in registers (the
// "carry"), and consecutive sweeps run as one wavefront (rotations_impl.hpp: sweep t + 1 one
// column behind sweep t, each with its own carry), so a column of the strip is loaded and stored
// once per group of sweeps rather than once per sweep (Van Zee, van de Geijn & Quintana-Orti,
// "Restructuring the tridiagonal and bidiagonal QR algorithms for performance", 2014).
// Every rotation maps columns (a, b) of Z to (c a + s b, -s a + c b). Kinds of sweep:
//  - down:  pairs (first, first+1), (first-1, first), ..., a = column j, b = column j+1
//  - up:    pairs (first, first+1), (first+1, first+2), ...
//  - pivot_down / pivot_up: pairs (j, fixed) for j = first, first-1, ... (or +1), a = column j,
//    b = column fixed.
// Strips are independent, so they run on threads; no result depends on the thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "cpu.hpp"
#include "linalg/workspace.hpp"

namespace affine::detail::linalg {

/// sqrt(a^2 + b^2), the length a rotation's c and s are divided by: float in double (exact
/// squares, no overflow); double by the plain root when the sum of squares neither overflows nor
/// underflows (then within 2 ulp), by std::hypot otherwise. glibc's hypot is correctly rounded and
/// several times slower; the tridiagonal QL calls this once per rotation. (The bidiagonal QR keeps
/// std::hypot: with the plain root its singular values in linalg_spectral_test moved twice as far
/// from LAPACK's, within the bound, for ~2% of the SVD's time.)
template <class T>
T rotation_length(T a, T b) {
  if constexpr (sizeof(T) == 4) {
    const double x = a, y = b;
    return static_cast<T>(std::sqrt(x * x + y * y));
  }
  const T s = a * a + b * b;
  if (s >= std::numeric_limits<T>::min() && s <= std::numeric_limits<T>::max()) return std::sqrt(s);
  return std::hypot(a, b);
}

enum class SweepKind : uint8_t { down, up, pivot_down, pivot_up };

struct Sweep {
  SweepKind kind;
  int64_t first;   ///< column of the first rotation's a
  int64_t fixed;   ///< pivot kinds: the b column of every rotation
  int64_t offset;  ///< index of the first (c, s) in the log's arrays
  int64_t count;   ///< rotations in the sweep
};

/// The rotations recorded since the last flush (plain data, read by the per-ISA appliers).
template <class T>
struct RotationBatch {
  std::vector<Sweep> sweeps;
  std::vector<T> c, s;
};

/// Rows per strip: two 64-byte vectors per column, so a wavefront of eight sweeps keeps its
/// carries in AVX-512's 32 registers; a strip of every column (cols * kStripRows elements) stays
/// in L2 while a batch streams by. The same for every ISA, so the packed layout is one.
template <class T>
inline constexpr int64_t kStripRows = sizeof(T) == 4 ? 32 : 16;

/// Applies batch to z held as packed strips (see RotationLog): strips blocks of cols * kStripRows
/// elements, column j's kStripRows elements of strip k at z[k * cols * kStripRows + j *
/// kStripRows]. Dispatches on active_isa(); defined in rotations_{generic,avx2,avx512}.cpp.
template <class T>
void apply_rotations(const RotationBatch<T>& batch, T* packed, int64_t strips, int64_t cols);

/// Records rotations for one matrix z [rows x cols] (column-major, ld) or for none (a log over
/// nullptr records nothing, so the value-only iterations share the code), and applies them when
/// enough have piled up. While the log lives, z is held in packed strips: adjacent columns of a
/// strip lie next to each other, so a sweep streams through memory the prefetchers follow instead
/// of jumping a whole column (often a page or more) per rotation. finish() writes z back.
template <class T>
class RotationLog {
 public:
  RotationLog(T* z, int64_t rows, int64_t cols, int64_t ld)
      : z_(z), rows_(rows), cols_(cols), ld_(ld) {
    if (!active()) return;
    // A z that fits in half of L1 stays there whatever the order of the rotations: each is then
    // applied as it comes, without packing or recording (for a 3 x 3 matrix those cost more than
    // the rotations).
    direct_ = double(rows) * double(cols) * double(sizeof(T)) <= double(cache_sizes().l1d) / 2;
    if (direct_) return;
    constexpr int64_t W = kStripRows<T>;
    strips_ = (rows + W - 1) / W;
    packed_.resize(strips_ * cols * W);
    std::fill_n(packed_.data(), strips_ * cols * W, T(0));
    for (int64_t k = 0; k < strips_; ++k) {
      const int64_t w = std::min(W, rows - k * W);
      for (int64_t j = 0; j < cols; ++j) {
        const T* src = z + k * W + j * ld;
        T* dst = packed_.data() + (k * cols + j) * W;
        for (int64_t r = 0; r < w; ++r) dst[r] = src[r];
      }
    }
  }
  RotationLog(const RotationLog&) = delete;
  RotationLog& operator=(const RotationLog&) = delete;
  ~RotationLog() = default;

  bool active() const { return z_ != nullptr && rows_ > 0 && cols_ > 0; }

  /// Starts a sweep; push() then appends its rotations in order.
  void begin(SweepKind kind, int64_t first, int64_t fixed = -1) {
    if (!active()) return;
    if (direct_) {
      sweep_ = {kind, first, fixed, 0, 0};
      return;
    }
    batch_.sweeps.push_back({kind, first, fixed, static_cast<int64_t>(batch_.c.size()), 0});
  }
  void push(T c, T s) {
    if (!active()) return;
    if (direct_) {
      rotate_now(c, s);
      return;
    }
    batch_.c.push_back(c);
    batch_.s.push_back(s);
    ++batch_.sweeps.back().count;
  }
  /// Ends a sweep; applies the batch once it holds enough rotations.
  void end() {
    if (active() && !direct_ && static_cast<int64_t>(batch_.c.size()) >= kFlushRotations) flush();
  }
  /// Applies everything recorded and writes z back to its own layout.
  void finish() {
    if (!active() || direct_) return;
    flush();
    constexpr int64_t W = kStripRows<T>;
    for (int64_t k = 0; k < strips_; ++k) {
      const int64_t w = std::min(W, rows_ - k * W);
      for (int64_t j = 0; j < cols_; ++j) {
        const T* src = packed_.data() + (k * cols_ + j) * W;
        T* dst = z_ + k * W + j * ld_;
        for (int64_t r = 0; r < w; ++r) dst[r] = src[r];
      }
    }
  }

 private:
  // The sweep's next rotation on z itself: columns (a, b) as the sweep kinds above define them.
  void rotate_now(T c, T s) {
    const int64_t t = sweep_.count++;
    int64_t a = 0, b = 0;
    switch (sweep_.kind) {
      case SweepKind::down:
        a = sweep_.first - t;
        b = a + 1;
        break;
      case SweepKind::up:
        a = sweep_.first + t;
        b = a + 1;
        break;
      case SweepKind::pivot_down:
        a = sweep_.first - t;
        b = sweep_.fixed;
        break;
      case SweepKind::pivot_up:
        a = sweep_.first + t;
        b = sweep_.fixed;
        break;
    }
    T* za = z_ + a * ld_;
    T* zb = z_ + b * ld_;
    for (int64_t r = 0; r < rows_; ++r) {
      const T x = za[r], y = zb[r];
      za[r] = c * x + s * y;
      zb[r] = c * y - s * x;
    }
  }
  void flush() {
    if (batch_.c.empty()) return;
    apply_rotations(batch_, packed_.data(), strips_, cols_);
    batch_.sweeps.clear();
    batch_.c.clear();
    batch_.s.clear();
  }
  // 16K rotations: 256 KiB of (c, s) in double, re-read once per strip.
  static constexpr int64_t kFlushRotations = 16384;
  T* z_;
  int64_t rows_, cols_, ld_;
  int64_t strips_ = 0;
  bool direct_ = false;
  Sweep sweep_{};        // direct: the current sweep, count = rotations applied so far
  Workspace<T> packed_;  // from the storage cache: n x n, and repeated calls reuse it
  RotationBatch<T> batch_;
};

}  // namespace affine::detail::linalg
