// Elementwise operations: one broadcasting binary loop, one unary loop, one ternary loop (where),
// and each op as a small functor in a table below.
//
// Why this shape: the training hot path is dominated by a few layouts (contiguous same-shape,
// tensor-with-scalar, matrix-with-row-vector). strided.hpp coalesces every layout into rows, and
// each row kernel below picks a plain 1-D loop for the stride patterns (1, 1), (1, 0), (0, 1) that
// g++ auto-vectorises at the baseline ISA, falling back to a general strided loop otherwise.
// Nothing here allocates apart from the output tensor, so a later `_out` variant (issue 7: no
// allocations per step) only has to skip the Tensor::empty call.
//
// A unary functor may provide `void row(const T* x, T* out, int64_t n) const` to replace the
// scalar loop: float32 exp, log, log1p, tanh and sigmoid use it to reach the vectorised kernels
// of vmath.hpp (issue 7). Strided rows of such ops are gathered into a small buffer and go
// through the same row kernel, so a result never depends on the input's layout.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/scalar_math.hpp"
#include "affine/tensor/internal/strided.hpp"
#include "affine/tensor/internal/unary_backward.hpp"
#include "affine/tensor/ops.hpp"
#include "vmath.hpp"

namespace affine {
namespace {

void require_defined(const char* op, const Tensor& t, const char* which) {
  if (!t.defined()) {
    throw Error(std::string(op) + ": " + which + " is an undefined tensor");
  }
}

// Same-dtype rule of ops.hpp. int64 is refused even when both sides agree; that message matches
// detail::visit_float's, which the unary ops reach.
void require_same_float(const char* op, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype()) {
    throw Error(std::string(op) + ": dtypes " + std::string(dtype_name(a.dtype())) + " and " +
                std::string(dtype_name(b.dtype())) + " differ (convert with Tensor::to)");
  }
  if (a.dtype() == DType::i64) {
    throw Error(std::string(op) + ": int64 tensors support no arithmetic " +
                "(convert with to(DType::f32) or to(DType::f64))");
  }
}

// ---- the loops ------------------------------------------------------------------------------

template <class T, class F>
void binary_into(Tensor& out, const Tensor& a, const Tensor& b, F f) {
  const Shape& shape = out.shape();
  const std::array<Strides, 3> st{out.strides(),
                                  detail::broadcast_strides(a.shape(), a.strides(), shape),
                                  detail::broadcast_strides(b.shape(), b.strides(), shape)};
  T* po = out.data<T>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  detail::for_each_row<3>(
      shape, st, [&](const detail::Offsets<3>& off, int64_t n, const detail::Offsets<3>& inc) {
        T* o = po + off[0];
        const T* x = pa + off[1];
        const T* y = pb + off[2];
        if (inc[0] == 1 && inc[1] == 1 && inc[2] == 1) {
          for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
        } else if (inc[0] == 1 && inc[1] == 1 && inc[2] == 0) {
          const T yv = *y;
          for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
        } else if (inc[0] == 1 && inc[1] == 0 && inc[2] == 1) {
          const T xv = *x;
          for (int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
        } else {
          for (int64_t i = 0; i < n; ++i) o[i * inc[0]] = f(x[i * inc[1]], y[i * inc[2]]);
        }
      });
}

template <class F, class T>
concept HasRowKernel = requires(const F& f, const T* x, T* o, int64_t n) {
  f.row(x, o, n);
};

template <class T, class F>
void unary_into(Tensor& out, const Tensor& a, F f) {
  const std::array<Strides, 2> st{out.strides(), a.strides()};
  T* po = out.data<T>();
  const T* pa = a.data<T>();
  detail::for_each_row<2>(
      out.shape(), st,
      [&](const detail::Offsets<2>& off, int64_t n, const detail::Offsets<2>& inc) {
        T* o = po + off[0];
        const T* x = pa + off[1];
        if constexpr (HasRowKernel<F, T>) {
          if (inc[0] == 1 && inc[1] == 1) {
            f.row(x, o, n);
          } else {
            // Gather, run the row kernel, scatter: a stack buffer of a few KiB, no allocation.
            constexpr int64_t kChunk = 512;
            T buf[kChunk];
            for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
              const int64_t m = std::min(kChunk, n - i0);
              for (int64_t i = 0; i < m; ++i) buf[i] = x[(i0 + i) * inc[1]];
              f.row(buf, buf, m);
              for (int64_t i = 0; i < m; ++i) o[(i0 + i) * inc[0]] = buf[i];
            }
          }
        } else if (inc[0] == 1 && inc[1] == 1) {
          for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
        } else {
          for (int64_t i = 0; i < n; ++i) o[i * inc[0]] = f(x[i * inc[1]]);
        }
      });
}

template <class F>
Tensor binary(const char* op, const Tensor& a, const Tensor& b, F f) {
  require_defined(op, a, "first operand");
  require_defined(op, b, "second operand");
  require_same_float(op, a, b);
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op), a.dtype());
  if (out.numel() == 0) return out;
  detail::visit_float(a.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    binary_into<T>(out, a, b, f);
  });
  return out;
}

// Comparisons also accept int64 operands (labels, argmax indices): the mask is then int64 0/1.
template <class F>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, F f) {
  if (a.defined() && a.dtype() != DType::i64) return binary(op, a, b, f);
  require_defined(op, a, "first operand");
  require_defined(op, b, "second operand");
  if (b.dtype() != DType::i64) require_same_float(op, a, b);  // names both dtypes
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op), DType::i64);
  if (out.numel() > 0) binary_into<int64_t>(out, a, b, f);
  return out;
}

// `make(T{})` builds the per-type functor, so ops that capture a scalar convert it to T once.
template <class Make>
Tensor unary(const char* op, const Tensor& a, Make make) {
  require_defined(op, a, "operand");
  Tensor out = Tensor::empty(a.shape(), a.dtype());
  detail::visit_float(a.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    if (out.numel() > 0) unary_into<T>(out, a, make(T{}));
  });
  return out;
}

// A binary functor with a fixed right (or, flipped, left) operand, as a unary functor.
template <class T, class F>
struct BindRight {
  F f;
  T s;
  T operator()(T x) const { return f(x, s); }
};
template <class T, class F>
struct BindLeft {
  F f;
  T s;
  T operator()(T x) const { return f(s, x); }
};

template <class F>
Tensor scalar_right(const char* op, const Tensor& a, double s, F f) {
  return unary(op, a, [&](auto t) {
    using T = decltype(t);
    return BindRight<T, F>{f, static_cast<T>(s)};
  });
}
template <class F>
Tensor scalar_left(const char* op, double s, const Tensor& a, F f) {
  return unary(op, a, [&](auto t) {
    using T = decltype(t);
    return BindLeft<T, F>{f, static_cast<T>(s)};
  });
}
// An int64 tensor against a double: compared as doubles (exact for |values| < 2^53).
template <class F>
Tensor compare_scalar(const char* op, const Tensor& a, double s, F f) {
  if (!a.defined() || a.dtype() != DType::i64) return scalar_right(op, a, s, f);
  Tensor out = Tensor::empty(a.shape(), DType::i64);
  if (out.numel() > 0) {
    unary_into<int64_t>(
        out, a, [&](int64_t x) { return static_cast<int64_t>(f(static_cast<double>(x), s)); });
  }
  return out;
}
template <class F>
Tensor plain_unary(const char* op, const Tensor& a, F f) {
  return unary(op, a, [&](auto) { return f; });
}

// ---- the op table ---------------------------------------------------------------------------
// Binary functors are generic over T so one definition serves float and double, tensors and
// scalars. NaN propagates through minimum/maximum/relu/clamp, as in NumPy and PyTorch.

#define AFFINE_BINARY_FUNCTOR(Name, expr) \
  struct Name {                           \
    template <class T>                    \
    T operator()(T x, T y) const {        \
      return expr;                        \
    }                                     \
  };

AFFINE_BINARY_FUNCTOR(AddF, x + y)
AFFINE_BINARY_FUNCTOR(SubF, x - y)
AFFINE_BINARY_FUNCTOR(MulF, x* y)
AFFINE_BINARY_FUNCTOR(DivF, x / y)
AFFINE_BINARY_FUNCTOR(PowF, std::pow(x, y))
AFFINE_BINARY_FUNCTOR(MinF, (x < y || x != x) ? x : y)
AFFINE_BINARY_FUNCTOR(MaxF, (x > y || x != x) ? x : y)
AFFINE_BINARY_FUNCTOR(EqF, T(x == y))
AFFINE_BINARY_FUNCTOR(NeF, T(x != y))
AFFINE_BINARY_FUNCTOR(LtF, T(x < y))
AFFINE_BINARY_FUNCTOR(LeF, T(x <= y))
AFFINE_BINARY_FUNCTOR(GtF, T(x > y))
AFFINE_BINARY_FUNCTOR(GeF, T(x >= y))
#undef AFFINE_BINARY_FUNCTOR

// ---- the unary table (unary_ops.hpp) ---------------------------------------------------------
// Each row becomes a forward functor NAME_op (generic over T; float32 rows of `vmath` ops go to
// vmath's kernel through row()) and a backward functor NAME_vjp_op (g, saved) -> input gradient
// (float32 rows of `vmath_bw` ops go to vmath's NAME_backward). float64 always runs the
// expressions, so gradcheck compares against the plain formulas.

using detail::stable_sigmoid;  // callable from the table's expressions

#define AFFINE_FWD_ROW_loop(name)
#define AFFINE_FWD_ROW_vmath(name) \
  void row(const float* x, float* out, int64_t n) const { detail::vmath::active().name(x, out, n); }
#define AFFINE_FWD_ROW_vmath_bw(name) AFFINE_FWD_ROW_vmath(name)
#define AFFINE_BWD_ROW_loop(name)
#define AFFINE_BWD_ROW_vmath(name)
#define AFFINE_BWD_ROW_vmath_bw(name)                                     \
  void row(const float* g, const float* v, float* out, int64_t n) const { \
    detail::vmath::active().name##_backward(g, v, out, n);                \
  }

#define AFFINE_UNARY_FUNCTORS(name, f, vjp, saved, f32) \
  struct name##_op {                                    \
    template <class T>                                  \
    T operator()(T x) const {                           \
      return f;                                         \
    }                                                   \
    AFFINE_FWD_ROW_##f32(name)                          \
  };                                                    \
  struct name##_vjp_op {                                \
    template <class T>                                  \
    T operator()(T g, [[maybe_unused]] T saved) const { \
      return vjp;                                       \
    }                                                   \
    AFFINE_BWD_ROW_##f32(name)                          \
  };
AFFINE_UNARY_OPS(AFFINE_UNARY_FUNCTORS)
#undef AFFINE_UNARY_FUNCTORS

#define AFFINE_UNARY_FUNCTORS_1(name, param, default_value, f, vjp, saved) \
  template <class T>                                                       \
  struct name##_op {                                                       \
    T param;                                                               \
    T operator()(T x) const { return f; }                                  \
  };                                                                       \
  template <class T>                                                       \
  struct name##_vjp_op {                                                   \
    T param;                                                               \
    T operator()(T g, [[maybe_unused]] T saved) const { return vjp; }      \
  };
AFFINE_UNARY_OPS_1(AFFINE_UNARY_FUNCTORS_1)
#undef AFFINE_UNARY_FUNCTORS_1

#define AFFINE_UNARY_FUNCTORS_2(name, p1, d1, p2, d2, valid, requirement, f, vjp, saved)          \
  template <class T>                                                                              \
  struct name##_op {                                                                              \
    T p1, p2;                                                                                     \
    T operator()(T x) const { return f; }                                                         \
  };                                                                                              \
  template <class T>                                                                              \
  struct name##_vjp_op {                                                                          \
    T p1, p2;                                                                                     \
    T operator()(T g, [[maybe_unused]] T saved) const { return vjp; }                             \
  };                                                                                              \
  void name##_check(double p1, double p2) {                                                       \
    if (!(valid)) {                                                                               \
      throw Error(std::string(#name ": ") + requirement + ", got " #p1 " " + std::to_string(p1) + \
                  ", " #p2 " " + std::to_string(p2));                                             \
    }                                                                                             \
  }
AFFINE_UNARY_OPS_2(AFFINE_UNARY_FUNCTORS_2)
#undef AFFINE_UNARY_FUNCTORS_2

template <class F, class T>
concept HasBackwardRow = requires(const F& f, const T* g, const T* v, T* o, int64_t n) {
  f.row(g, v, o, n);
};

// out := the VJP of one table op, given the output gradient g and the saved value v (same shape;
// any strides). out has g's shape and dtype; it may be g itself (then g is overwritten in place,
// each element read before it is written).
template <class Make>
void unary_backward(const char* op, const Tensor& g, const Tensor& v, Tensor& out, Make make) {
  require_defined(op, g, "gradient");
  require_defined(op, v, "saved value");
  require_same_float(op, g, v);
  if (g.shape() != v.shape() || out.shape() != g.shape() || out.dtype() != g.dtype()) {
    throw Error(std::string(op) + " backward: gradient " + to_string(g.shape()) + ", saved " +
                to_string(v.shape()) + " and output " + to_string(out.shape()) + " differ");
  }
  if (out.numel() == 0) return;
  detail::visit_float(g.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    const auto f = make(T{});
    if constexpr (HasBackwardRow<decltype(f), T>) {
      if (g.is_contiguous() && v.is_contiguous() && out.is_contiguous()) {
        f.row(g.data<T>(), v.data<T>(), out.data<T>(), g.numel());
        return;
      }
    }
    binary_into<T>(out, g, v, f);
  });
}

template <class T>
struct ClampF {
  T lo, hi;
  T operator()(T x) const { return x < lo ? lo : (x > hi ? hi : x); }
};

}  // namespace

// ---- public entry points: one line each -----------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b) { return binary("add", a, b, AddF{}); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary("sub", a, b, SubF{}); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary("mul", a, b, MulF{}); }
Tensor div(const Tensor& a, const Tensor& b) { return binary("div", a, b, DivF{}); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary("pow", a, b, PowF{}); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary("minimum", a, b, MinF{}); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary("maximum", a, b, MaxF{}); }

Tensor add(const Tensor& a, double b) { return scalar_right("add", a, b, AddF{}); }
Tensor sub(const Tensor& a, double b) { return scalar_right("sub", a, b, SubF{}); }
Tensor sub(double a, const Tensor& b) { return scalar_left("sub", a, b, SubF{}); }
Tensor mul(const Tensor& a, double b) { return scalar_right("mul", a, b, MulF{}); }
Tensor div(const Tensor& a, double b) { return scalar_right("div", a, b, DivF{}); }
Tensor div(double a, const Tensor& b) { return scalar_left("div", a, b, DivF{}); }
Tensor minimum(const Tensor& a, double b) { return scalar_right("minimum", a, b, MinF{}); }
Tensor maximum(const Tensor& a, double b) { return scalar_right("maximum", a, b, MaxF{}); }

Tensor eq(const Tensor& a, const Tensor& b) { return compare("eq", a, b, EqF{}); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare("ne", a, b, NeF{}); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare("lt", a, b, LtF{}); }
Tensor le(const Tensor& a, const Tensor& b) { return compare("le", a, b, LeF{}); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare("gt", a, b, GtF{}); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare("ge", a, b, GeF{}); }
Tensor eq(const Tensor& a, double b) { return compare_scalar("eq", a, b, EqF{}); }
Tensor ne(const Tensor& a, double b) { return compare_scalar("ne", a, b, NeF{}); }
Tensor lt(const Tensor& a, double b) { return compare_scalar("lt", a, b, LtF{}); }
Tensor le(const Tensor& a, double b) { return compare_scalar("le", a, b, LeF{}); }
Tensor gt(const Tensor& a, double b) { return compare_scalar("gt", a, b, GtF{}); }
Tensor ge(const Tensor& a, double b) { return compare_scalar("ge", a, b, GeF{}); }

#define AFFINE_DEFINE_UNARY(name, f, vjp, saved, f32)                               \
  Tensor name(const Tensor& a) { return plain_unary(#name, a, name##_op{}); }       \
  void detail::name##_backward(const Tensor& g, const Tensor& saved, Tensor& out) { \
    unary_backward(#name, g, saved, out, [](auto) { return name##_vjp_op{}; });     \
  }
AFFINE_UNARY_OPS(AFFINE_DEFINE_UNARY)
#undef AFFINE_DEFINE_UNARY

#define AFFINE_DEFINE_UNARY_1(name, param, default_value, f, vjp, saved)                          \
  Tensor name(const Tensor& a, double param) {                                                    \
    return unary(#name, a, [&](auto t) {                                                          \
      using T = decltype(t);                                                                      \
      return name##_op<T>{static_cast<T>(param)};                                                 \
    });                                                                                           \
  }                                                                                               \
  void detail::name##_backward(const Tensor& g, const Tensor& saved, double param, Tensor& out) { \
    unary_backward(#name, g, saved, out, [&](auto t) {                                            \
      using T = decltype(t);                                                                      \
      return name##_vjp_op<T>{static_cast<T>(param)};                                             \
    });                                                                                           \
  }
AFFINE_UNARY_OPS_1(AFFINE_DEFINE_UNARY_1)
#undef AFFINE_DEFINE_UNARY_1

#define AFFINE_DEFINE_UNARY_2(name, p1, d1, p2, d2, valid, requirement, f, vjp, saved)     \
  Tensor name(const Tensor& a, double p1, double p2) {                                     \
    name##_check(p1, p2);                                                                  \
    return unary(#name, a, [&](auto t) {                                                   \
      using T = decltype(t);                                                               \
      return name##_op<T>{static_cast<T>(p1), static_cast<T>(p2)};                         \
    });                                                                                    \
  }                                                                                        \
  void detail::name##_backward(const Tensor& g, const Tensor& saved, double p1, double p2, \
                               Tensor& out) {                                              \
    unary_backward(#name, g, saved, out, [&](auto t) {                                     \
      using T = decltype(t);                                                               \
      return name##_vjp_op<T>{static_cast<T>(p1), static_cast<T>(p2)};                     \
    });                                                                                    \
  }
AFFINE_UNARY_OPS_2(AFFINE_DEFINE_UNARY_2)
#undef AFFINE_DEFINE_UNARY_2

Tensor clamp(const Tensor& a, double low, double high) {
  // !(low <= high) also refuses NaN bounds, which would make the result silently unclamped.
  if (!(low <= high)) {
    throw Error("clamp: low (" + std::to_string(low) + ") must not exceed high (" +
                std::to_string(high) + ")");
  }
  return unary("clamp", a, [&](auto t) {
    using T = decltype(t);
    return ClampF<T>{static_cast<T>(low), static_cast<T>(high)};
  });
}

Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
  const char* op = "where";
  require_defined(op, mask, "mask");
  require_defined(op, a, "first operand");
  require_defined(op, b, "second operand");
  require_same_float(op, a, b);
  const Shape ab = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(broadcast_shapes(mask.shape(), ab, op), a.dtype());
  if (out.numel() == 0) return out;
  const Shape& shape = out.shape();
  const std::array<Strides, 4> st{out.strides(),
                                  detail::broadcast_strides(mask.shape(), mask.strides(), shape),
                                  detail::broadcast_strides(a.shape(), a.strides(), shape),
                                  detail::broadcast_strides(b.shape(), b.strides(), shape)};
  // The mask may be of any dtype (a 0/1 float mask from a comparison, or int64).
  detail::visit_float(a.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    detail::visit_dtype(mask.dtype(), [&](auto mtag) {
      using M = AFFINE_T(mtag);
      T* po = out.data<T>();
      const M* pm = mask.data<M>();
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      detail::for_each_row<4>(
          shape, st, [&](const detail::Offsets<4>& off, int64_t n, const detail::Offsets<4>& inc) {
            T* o = po + off[0];
            const M* m = pm + off[1];
            const T* x = pa + off[2];
            const T* y = pb + off[3];
            for (int64_t i = 0; i < n; ++i) {
              o[i * inc[0]] = m[i * inc[1]] != M(0) ? x[i * inc[2]] : y[i * inc[3]];
            }
          });
    });
  });
  return out;
}

Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(double a, const Tensor& b) { return sub(a, b); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(double a, const Tensor& b) { return div(a, b); }

}  // namespace affine
