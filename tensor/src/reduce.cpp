// Reductions: sum, mean, max, min over axes (keepdim or not) and over all; argmax; sum_to.
//
// A reduction splits the input's dims into kept ones (which index the output) and reduced ones.
// Both groups are coalesced separately (strided.hpp), and one of three loops runs:
//  - inner: the reduced group is one stride-1 run (reducing the last axes of a contiguous tensor,
//    or all of it): each output element is a contiguous reduction with 4 partial accumulators;
//  - outer: the kept group is stride-1 in both input and output (reducing the first axes, e.g. the
//    batch axis of a gradient): whole input rows are accumulated into a block of output
//    accumulators, a loop over independent columns that g++ vectorises;
//  - general: each output element walks its reduced elements by stride.
// Sums (and means) accumulate in double whatever the dtype. NaN propagates through max and min,
// and argmax treats NaN as the largest value, as NumPy does.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/strided.hpp"
#include "affine/tensor/ops.hpp"

namespace affine {
namespace {

void require_defined(const char* op, const Tensor& t) {
  if (!t.defined()) throw Error(std::string(op) + ": operand is an undefined tensor");
}

// ---- reducers -------------------------------------------------------------------------------
// init() is the identity; step() folds one element in; combine() merges two partial results
// (used by the 4-way contiguous loop); finish() turns the accumulator into the output value,
// given how many elements were reduced.

template <class T>
struct SumR {
  using Acc = double;
  static constexpr bool needs_elements = false;
  Acc init() const { return 0.0; }
  void step(Acc& acc, T x) const { acc += static_cast<double>(x); }
  Acc combine(Acc a, Acc b) const { return a + b; }
  T finish(Acc acc, int64_t) const { return static_cast<T>(acc); }
};

template <class T>
struct MeanR : SumR<T> {
  // 0 / 0 is NaN for a mean over zero elements, as NumPy gives.
  T finish(double acc, int64_t n) const { return static_cast<T>(acc / static_cast<double>(n)); }
};

template <class T>
struct MaxR {
  using Acc = T;
  static constexpr bool needs_elements = true;
  Acc init() const { return -std::numeric_limits<T>::infinity(); }
  // Once acc is NaN nothing replaces it: x > NaN and x != x are both false for a number x.
  void step(Acc& acc, T x) const {
    if (x > acc || x != x) acc = x;
  }
  Acc combine(Acc a, Acc b) const {
    step(a, b);
    return a;
  }
  T finish(Acc acc, int64_t) const { return acc; }
};

template <class T>
struct MinR {
  using Acc = T;
  static constexpr bool needs_elements = true;
  Acc init() const { return std::numeric_limits<T>::infinity(); }
  void step(Acc& acc, T x) const {
    if (x < acc || x != x) acc = x;
  }
  Acc combine(Acc a, Acc b) const {
    step(a, b);
    return a;
  }
  T finish(Acc acc, int64_t) const { return acc; }
};

// Folds n elements x[0], x[inc], ... into acc. The contiguous case keeps four independent
// partial accumulators: without -ffast-math the compiler may not reorder a sum itself, and one
// accumulator would serialise on the add latency.
template <class T, class R>
void fold_row(const R& r, typename R::Acc& acc, const T* x, int64_t n, int64_t inc) {
  if (inc == 1) {
    typename R::Acc p0 = r.init(), p1 = r.init(), p2 = r.init(), p3 = r.init();
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
      r.step(p0, x[i]);
      r.step(p1, x[i + 1]);
      r.step(p2, x[i + 2]);
      r.step(p3, x[i + 3]);
    }
    for (; i < n; ++i) r.step(p0, x[i]);
    acc = r.combine(acc, r.combine(r.combine(p0, p1), r.combine(p2, p3)));
  } else {
    for (int64_t i = 0; i < n; ++i) r.step(acc, x[i * inc]);
  }
}

// The kept and reduced groups of an input, each coalesced.
struct Split {
  detail::StridedLayout<2> kept;     // operands: output, input
  detail::StridedLayout<1> reduced;  // operand: input
  int64_t count = 1;                 // elements reduced into each output element
};

Split split_axes(const Tensor& a, const bool* reduce) {
  Shape kshape, rshape;
  Strides kin, rin;
  for (int d = 0; d < a.rank(); ++d) {
    if (reduce[d]) {
      rshape.push_back(a.shape()[d]);
      rin.push_back(a.strides()[d]);
    } else {
      kshape.push_back(a.shape()[d]);
      kin.push_back(a.strides()[d]);
    }
  }
  Split s;
  s.kept = detail::coalesce<2>(kshape, {contiguous_strides(kshape), kin});
  s.reduced = detail::coalesce<1>(rshape, {rin});
  for (int64_t d : rshape) s.count *= d;
  return s;
}

template <class T, class R>
void reduce_kernel(const R& r, const Tensor& a, Tensor& out, const Split& s) {
  const T* in = a.data<T>();
  T* po = out.data<T>();
  using Acc = typename R::Acc;
  if (s.count == 0) {
    // Nothing to read (coalescing an empty group yields no dims, which would look like count 1).
    const T v = r.finish(r.init(), 0);
    for (int64_t i = 0; i < out.numel(); ++i) po[i] = v;
    return;
  }
  const auto& red = s.reduced;
  const int rr = red.shape.size();
  // Reduced group is a single run of stride 1 (or nothing at all when count == 1).
  const bool inner = rr == 0 || (rr == 1 && red.strides[0][0] == 1);
  const int kr = s.kept.shape.size();
  const bool outer =
      !inner && kr > 0 && s.kept.strides[0][kr - 1] == 1 && s.kept.strides[1][kr - 1] == 1;

  if (outer) {
    // Accumulate whole input rows into a block of output columns; the block bounds the stack use
    // and keeps the accumulators in L1 while the reduced rows stream past.
    constexpr int64_t kBlock = 256;
    Acc acc[kBlock];
    detail::for_each_row<2>(
        s.kept, [&](const detail::Offsets<2>& off, int64_t n, const detail::Offsets<2>&) {
          for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
            const int64_t nb = n - j0 < kBlock ? n - j0 : kBlock;
            for (int64_t j = 0; j < nb; ++j) acc[j] = r.init();
            const T* base = in + off[1] + j0;
            detail::for_each_row<1>(red, [&](const detail::Offsets<1>& roff, int64_t rn,
                                             const detail::Offsets<1>& rinc) {
              for (int64_t i = 0; i < rn; ++i) {
                const T* x = base + roff[0] + i * rinc[0];
                for (int64_t j = 0; j < nb; ++j) r.step(acc[j], x[j]);
              }
            });
            T* o = po + off[0] + j0;
            for (int64_t j = 0; j < nb; ++j) o[j] = r.finish(acc[j], s.count);
          }
        });
    return;
  }

  detail::for_each_row<2>(
      s.kept, [&](const detail::Offsets<2>& off, int64_t n, const detail::Offsets<2>& inc) {
        for (int64_t j = 0; j < n; ++j) {
          const T* base = in + off[1] + j * inc[1];
          Acc acc = r.init();
          if (rr == 0) {
            r.step(acc, *base);
          } else {
            detail::for_each_row<1>(red, [&](const detail::Offsets<1>& roff, int64_t rn,
                                             const detail::Offsets<1>& rinc) {
              fold_row<T>(r, acc, base + roff[0], rn, rinc[0]);
            });
          }
          po[off[0] + j * inc[0]] = r.finish(acc, s.count);
        }
      });
}

// Validates axes and returns, per input dim, whether it is reduced.
std::array<bool, kMaxRank> axis_mask(const char* op, const Tensor& a, const Axes& axes) {
  std::array<bool, kMaxRank> mask{};
  for (int64_t ax : axes) {
    const int d = normalize_axis(ax, a.rank(), op);
    if (mask[static_cast<size_t>(d)]) {
      throw Error(std::string(op) + ": axis " + std::to_string(ax) + " is repeated in axes " +
                  to_string(axes) + " (rank " + std::to_string(a.rank()) + ")");
    }
    mask[static_cast<size_t>(d)] = true;
  }
  return mask;
}

Shape reduced_shape(const Tensor& a, const std::array<bool, kMaxRank>& mask, bool keepdim) {
  Shape out;
  for (int d = 0; d < a.rank(); ++d) {
    if (!mask[static_cast<size_t>(d)]) {
      out.push_back(a.shape()[d]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

template <template <class> class R>
Tensor reduce(const char* op, const Tensor& a, const std::array<bool, kMaxRank>& mask, bool keepdim,
              const Axes* axes) {
  return detail::visit_float(a.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    const R<T> r;
    const Split s = split_axes(a, mask.data());
    if constexpr (R<T>::needs_elements) {
      if (s.count == 0) {
        throw Error(std::string(op) + ": cannot reduce zero elements (shape " +
                    to_string(a.shape()) +
                    (axes ? ", axes " + to_string(*axes) : std::string(", all axes")) + "); " + op +
                    " has no identity");
      }
    }
    Tensor out = Tensor::empty(reduced_shape(a, mask, keepdim), a.dtype());
    if (out.numel() > 0) reduce_kernel<T>(r, a, out, s);
    return out;
  });
}

template <template <class> class R>
Tensor reduce_axes(const char* op, const Tensor& a, const Axes& axes, bool keepdim) {
  require_defined(op, a);
  return reduce<R>(op, a, axis_mask(op, a, axes), keepdim, &axes);
}

template <template <class> class R>
Tensor reduce_all(const char* op, const Tensor& a) {
  require_defined(op, a);
  std::array<bool, kMaxRank> mask{};
  for (int d = 0; d < a.rank(); ++d) mask[static_cast<size_t>(d)] = true;
  return reduce<R>(op, a, mask, false, nullptr);
}

// True when x should replace the current best of an argmax: strictly larger (so the first of
// equal maxima wins), or the first NaN.
template <class T>
bool argmax_better(T x, T best) {
  return x > best || (x != x && best == best);
}

}  // namespace

Tensor sum(const Tensor& a) { return reduce_all<SumR>("sum", a); }
Tensor sum(const Tensor& a, const Axes& axes, bool keepdim) {
  return reduce_axes<SumR>("sum", a, axes, keepdim);
}
Tensor mean(const Tensor& a) { return reduce_all<MeanR>("mean", a); }
Tensor mean(const Tensor& a, const Axes& axes, bool keepdim) {
  return reduce_axes<MeanR>("mean", a, axes, keepdim);
}
Tensor max(const Tensor& a) { return reduce_all<MaxR>("max", a); }
Tensor max(const Tensor& a, const Axes& axes, bool keepdim) {
  return reduce_axes<MaxR>("max", a, axes, keepdim);
}
Tensor min(const Tensor& a) { return reduce_all<MinR>("min", a); }
Tensor min(const Tensor& a, const Axes& axes, bool keepdim) {
  return reduce_axes<MinR>("min", a, axes, keepdim);
}
Tensor max(const Tensor& a, int64_t axis, bool keepdim) { return max(a, Axes{axis}, keepdim); }
Tensor min(const Tensor& a, int64_t axis, bool keepdim) { return min(a, Axes{axis}, keepdim); }

Tensor argmax(const Tensor& a) {
  const char* op = "argmax";
  require_defined(op, a);
  return detail::visit_float(a.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    if (a.numel() == 0) {
      throw Error(std::string(op) + ": cannot reduce zero elements (shape " + to_string(a.shape()) +
                  ", all axes); argmax has no identity");
    }
    // Row-major visiting order (strided.hpp keeps it), so the running counter is the flat index.
    const T* in = a.data<T>();
    int64_t index = 0, best_index = 0;
    T best = in[0];
    detail::for_each_offset(a.shape(), a.strides(), [&](int64_t off) {
      if (argmax_better(in[off], best)) {
        best = in[off];
        best_index = index;
      }
      ++index;
    });
    Tensor out = Tensor::empty({}, DType::i64);
    *out.data<int64_t>() = best_index;
    return out;
  });
}

Tensor argmax(const Tensor& a, int64_t axis, bool keepdim) {
  const char* op = "argmax";
  require_defined(op, a);
  const int ax = normalize_axis(axis, a.rank(), op);
  return detail::visit_float(a.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    const int64_t n = a.shape()[ax];
    if (n == 0) {
      throw Error(std::string(op) + ": cannot reduce zero elements (shape " + to_string(a.shape()) +
                  ", axis " + std::to_string(axis) + "); argmax has no identity");
    }
    std::array<bool, kMaxRank> mask{};
    mask[static_cast<size_t>(ax)] = true;
    Tensor out = Tensor::empty(reduced_shape(a, mask, keepdim), DType::i64);
    if (out.numel() == 0) return out;
    const Split s = split_axes(a, mask.data());
    const int64_t step = a.strides()[ax];
    const T* in = a.data<T>();
    int64_t* po = out.data<int64_t>();
    detail::for_each_row<2>(
        s.kept, [&](const detail::Offsets<2>& off, int64_t rn, const detail::Offsets<2>& inc) {
          for (int64_t j = 0; j < rn; ++j) {
            const T* x = in + off[1] + j * inc[1];
            T best = x[0];
            int64_t best_i = 0;
            for (int64_t i = 1; i < n; ++i) {
              if (argmax_better(x[i * step], best)) {
                best = x[i * step];
                best_i = i;
              }
            }
            po[off[0] + j * inc[0]] = best_i;
          }
        });
    return out;
  });
}

Tensor sum_to(const Tensor& a, const Shape& shape) {
  const char* op = "sum_to";
  require_defined(op, a);
  const int r = a.rank();
  const int shift = r - shape.size();
  bool ok = shift >= 0;
  Axes axes;
  for (int d = 0; ok && d < r; ++d) {
    const int64_t target = d >= shift ? shape[d - shift] : 1;
    if (d < shift || (target == 1 && a.shape()[d] != 1)) {
      axes.push_back(d);
    } else if (target != a.shape()[d]) {
      ok = false;
    }
  }
  if (!ok) {
    throw Error(std::string(op) + ": shape " + to_string(a.shape()) + " cannot be summed to " +
                to_string(shape) + " (" + to_string(shape) + " does not broadcast to " +
                to_string(a.shape()) + ")");
  }
  // keepdim keeps the result's strides trivially reshapeable; the leading dims then drop.
  return sum(a, axes, true).reshape(shape);
}

}  // namespace affine
