// matmul and the fused linear layer. Every product, forward and backward, goes to the GEMM through
// gemm_strided with the operands' (row stride, column stride): a transposed operand is a
// Tensor::t() view, never a copy. When the gradient buffer of an input already exists and is
// exclusively the tape's (a Parameter's grad, or a node gradient nobody else references), the
// backward GEMM accumulates straight into it with beta = 1: no temporary, no extra pass.
//
// Skinny layers (in or out features <= detail::train::kSkinny, as in the seed's 2-100-2-1 network)
// skip the GEMM: the forward is one pass writing bias + x W^T, and the backward one pass over the
// rows computing dW and db together (train_kernels.hpp). They are memory-bound, so the passes
// saved (bias copy, separate column sums) are most of their cost.
#include <string>
#include <utility>

#include "affine/autograd/ops.hpp"
#include "affine/tensor/gemm.hpp"
#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/ops.hpp"
#include "tape_impl.hpp"
#include "train_kernels.hpp"

namespace affine {

using detail::Node;
using detail::op_begin;
using detail::OpTape;
using detail::TapeImpl;

namespace {

// C := A B + beta C for 2-D views of one dtype (any strides; C must not overlap A or B).
void gemm_view(const Tensor& a, const Tensor& b, double beta, Tensor& c) {
  detail::visit_float(c.dtype(), "matmul", [&](auto tag) {
    using T = AFFINE_T(tag);
    gemm_strided(a.shape()[0], b.shape()[1], a.shape()[1], T(1), a.data<T>(), a.strides()[0],
                 a.strides()[1], b.data<T>(), b.strides()[0], b.strides()[1], static_cast<T>(beta),
                 c.data<T>(), c.strides()[0], c.strides()[1]);
  });
}

// Gradient contribution A B (2-D) for node idx, accumulated in place when possible.
void accumulate_product(TapeImpl& t, uint32_t idx, const Tensor& a, const Tensor& b) {
  if (!t.needs_grad(idx)) return;
  Tensor* target = t.accumulate_target(idx);
  if (target != nullptr && !target->shares_storage(a) && !target->shares_storage(b)) {
    gemm_view(a, b, 1.0, *target);
    return;
  }
  Tensor c = Tensor::empty({a.shape()[0], b.shape()[1]}, a.dtype());
  gemm_view(a, b, 0.0, c);
  t.accumulate(idx, std::move(c));
}

// Column sums of a 2-D g [n, m] into dst [m]: dst = sums (beta 0) or dst += sums (beta 1).
void column_sums(const Tensor& g, Tensor& dst, bool add) {
  detail::visit_float(g.dtype(), "linear", [&](auto tag) {
    using T = AFFINE_T(tag);
    const int64_t n = g.shape()[0];
    const int64_t m = g.shape()[1];
    const int64_t rs = g.strides()[0];
    const int64_t cs = g.strides()[1];
    const T* pg = g.data<T>();
    T* pd = dst.data<T>();
    const int64_t ds = dst.strides()[0];
    if ((cs == 1 || m <= 1) && (ds == 1 || m <= 1)) {
      detail::train::column_sums<T>(n, m, pg, rs, pd, add);
      return;
    }
    if (!add) {
      for (int64_t j = 0; j < m; ++j) pd[j * ds] = T(0);
    }
    if (cs == 1 && ds == 1) {
      for (int64_t i = 0; i < n; ++i) {
        const T* row = pg + i * rs;
        for (int64_t j = 0; j < m; ++j) pd[j] += row[j];
      }
    } else {
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < m; ++j) pd[j * ds] += pg[i * rs + j * cs];
      }
    }
  });
}

std::string shp(const Shape& s) { return to_string(s); }

// A 2-D view whose rows are unit-stride (any row stride): what the skinny loops read.
bool unit_rows(const Tensor& t) {
  return t.rank() == 2 && (t.shape()[1] <= 1 || t.strides()[1] == 1);
}

// Largest in * out the skinny forward stages W^T for on the stack, and the largest p * q
// accumulator the skinny backward keeps there (both 32 KiB in float64).
constexpr int64_t kStackElems = 4096;

// The gradient buffer of node idx to add a [rows, cols] block into, made (zeros) and handed to
// the tape afterwards when the node has none the kernel may write; apply(T* dst) adds into it.
template <class T, class Add>
void add_to_grad(TapeImpl& t, uint32_t idx, const Shape& shape, DType dtype, Add apply) {
  Tensor* target = t.accumulate_target(idx);
  if (target != nullptr) {
    apply(target->data<T>());
    return;
  }
  Tensor fresh = Tensor::zeros(shape, dtype);
  apply(fresh.data<T>());
  t.accumulate(idx, std::move(fresh));
}

// linear's backward for a skinny weight: dX by the skinny product, dW and db in one pass over the
// rows. Returns false (nothing done) when the layout or sizes are not the skinny loops' own.
bool linear_backward_skinny(TapeImpl& t, Node& n, const Tensor& g, const Tensor& x,
                            const Tensor& w) {
  const int64_t out_f = w.shape()[0];
  const int64_t in_f = w.shape()[1];
  const int64_t rows = x.shape()[0];
  const bool small_in = in_f <= detail::train::kSkinny && out_f <= detail::train::kMaxWide;
  const bool small_out = out_f <= detail::train::kSkinny && in_f <= detail::train::kMaxWide;
  if (!(small_in || small_out) || in_f * out_f > kStackElems || !unit_rows(g) || !unit_rows(x) ||
      !w.is_contiguous() || g.dtype() != x.dtype() || n.dims.size() != 2) {
    return false;
  }
  const bool need_x = t.needs_grad(n.in[0]);
  if (need_x && !small_out) return false;  // dX = G W with a wide K: the GEMM's job
  detail::visit_float(g.dtype(), "linear", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* pg = g.data<T>();
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const int64_t ldg = g.strides()[0];
    const int64_t ldx = x.strides()[0];
    if (need_x) {  // dX [rows, in] = G [rows, out] W [out, in], out <= kSkinny
      Node& xn = t.nodes[n.in[0]];
      const Tensor& y = xn.saved[0];
      if (xn.backward == &detail::tanh_vjp && xn.consumers == 1 && !xn.retain_grad &&
          !xn.grad.defined() && xn.param == nullptr && y.dtype() == g.dtype() &&
          y.is_contiguous() && y.rank() == 2 && y.shape()[0] == rows && y.shape()[1] == in_f) {
        // x = tanh(z) feeds only this layer: write dL/dz = (G W) (1 - x^2) in the same pass,
        // and tanh's VJP passes it on (saves a pass over [rows, in] and a buffer).
        Tensor dz = Tensor::empty({rows, in_f}, g.dtype());
        detail::train::skinny_k_product_tanh<T>(rows, out_f, in_f, pg, ldg, pw, y.data<T>(),
                                                dz.data<T>(), in_f);
        xn.grad = std::move(dz);
        xn.vjp_applied = true;
      } else if (Tensor* target = t.accumulate_target(n.in[0]);
                 target != nullptr && target->rank() == 2 && !target->shares_storage(g)) {
        detail::train::skinny_k_product<T>(rows, out_f, in_f, pg, ldg, pw, nullptr, true,
                                           target->data<T>(), in_f);
      } else {
        Tensor dx = Tensor::empty({rows, in_f}, g.dtype());
        detail::train::skinny_k_product<T>(rows, out_f, in_f, pg, ldg, pw, nullptr, false,
                                           dx.data<T>(), in_f);
        t.accumulate(n.in[0], std::move(dx));
      }
    }
    const bool need_w = t.needs_grad(n.in[1]);
    const bool need_b = t.needs_grad(n.in[2]);
    if (!need_w && !need_b) return;
    T acc[kStackElems];
    T bsum[detail::train::kMaxWide];
    if (small_in) {
      // acc [in, out] = X^T G: dW^T; the column sums of G are db.
      detail::train::skinny_outer<T>(rows, in_f, out_f, px, ldx, pg, ldg, acc, nullptr,
                                     need_b ? bsum : nullptr);
      if (need_w) {
        add_to_grad<T>(t, n.in[1], w.shape(), w.dtype(), [&](T* dw) {
          for (int64_t o = 0; o < out_f; ++o) {
            for (int64_t k = 0; k < in_f; ++k) dw[o * in_f + k] += acc[k * out_f + o];
          }
        });
      }
    } else {
      // acc [out, in] = G^T X: dW; the column sums of G (the narrow side) are db.
      detail::train::skinny_outer<T>(rows, out_f, in_f, pg, ldg, px, ldx, acc,
                                     need_b ? bsum : nullptr, nullptr);
      if (need_w) {
        add_to_grad<T>(t, n.in[1], w.shape(), w.dtype(), [&](T* dw) {
          for (int64_t i = 0; i < out_f * in_f; ++i) dw[i] += acc[i];
        });
      }
    }
    if (need_b) {
      add_to_grad<T>(t, n.in[2], Shape{out_f}, g.dtype(), [&](T* db) {
        for (int64_t o = 0; o < out_f; ++o) db[o] += bsum[o];
      });
    }
  });
  return true;
}

}  // namespace

// ---- matmul ------------------------------------------------------------------------------------
// saved[0] = A, saved[1] = B.

static void matmul_backward(TapeImpl& t, Node& n) {
  const Tensor& g = n.grad;
  const Tensor& a = n.saved[0];
  const Tensor& b = n.saved[1];
  if (a.rank() == 2 && b.rank() == 2) {
    accumulate_product(t, n.in[0], g, b.t());  // dA = G B^T   [m,n][n,k]
    accumulate_product(t, n.in[1], a.t(), g);  // dB = A^T G   [k,m][m,n]
    return;
  }
  // Batched: the same products per batch (matmul passes the transposed views by stride), summed
  // over batches an operand was broadcast along.
  if (t.needs_grad(n.in[0])) {
    t.accumulate(n.in[0], detail::reduce_to(affine::matmul(g, b.transpose(-2, -1)), a.shape()));
  }
  if (t.needs_grad(n.in[1])) {
    t.accumulate(n.in[1], detail::reduce_to(affine::matmul(a.transpose(-2, -1), g), b.shape()));
  }
}

Var matmul(const Var& a, const Var& b) {
  detail::require_defined("matmul", a);
  detail::require_defined("matmul", b);
  OpTape rec = op_begin("matmul", {&a, &b});
  Tensor out = affine::matmul(a.value(), b.value());  // checks shapes, names both
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &matmul_backward, {&a, &b});
  n.saved[0] = a.value();
  n.saved[1] = b.value();
  return rec.var;
}

// ---- linear ------------------------------------------------------------------------------------
// saved[0] = x as a 2-D [n, in] view, saved[1] = W [out, in]; dims = x's own shape.

static void linear_backward(TapeImpl& t, Node& n) {
  const Tensor& x = n.saved[0];
  const Tensor& w = n.saved[1];
  const int64_t out_features = w.shape()[0];
  Tensor g = n.grad;
  if (g.rank() != 2) g = g.reshape({x.shape()[0], out_features});
  if (linear_backward_skinny(t, n, g, x, w)) return;
  // dX = G W  [n,out][out,in]
  if (t.needs_grad(n.in[0])) {
    if (n.dims.size() == 2) {
      accumulate_product(t, n.in[0], g, w);
    } else {
      Tensor dx = Tensor::empty(x.shape(), x.dtype());
      gemm_view(g, w, 0.0, dx);
      t.accumulate(n.in[0], dx.reshape(n.dims));
    }
  }
  // dW = G^T X  [out,n][n,in]
  accumulate_product(t, n.in[1], g.t(), x);
  // db = column sums of G
  if (t.needs_grad(n.in[2])) {
    Tensor* target = t.accumulate_target(n.in[2]);
    if (target != nullptr) {
      column_sums(g, *target, true);
    } else {
      Tensor db = Tensor::empty({out_features}, g.dtype());
      column_sums(g, db, false);
      t.accumulate(n.in[2], std::move(db));
    }
  }
}

Var linear(const Var& x, const Var& weight, const Var& bias) {
  detail::require_defined("linear", x);
  detail::require_defined("linear", weight, "weight");
  OpTape rec = op_begin("linear", {&x, &weight, &bias});
  const Tensor& xv = x.value();
  const Tensor& w = weight.value();
  if (w.rank() != 2) {
    throw Error("linear: weight must be 2-D [out, in], got shape " + shp(w.shape()));
  }
  const int64_t in_features = w.shape()[1];
  const int64_t out_features = w.shape()[0];
  if (xv.rank() < 1 || xv.shape().back() != in_features) {
    throw Error("linear: input " + shp(xv.shape()) + " and weight " + shp(w.shape()) +
                " do not match (the input's last dimension must be in_features = " +
                std::to_string(in_features) + ")");
  }
  detail::check_same_float("linear", xv.dtype(), w.dtype());
  Tensor bv;
  if (bias.defined()) {
    bv = bias.value();
    if (bv.rank() != 1 || bv.shape()[0] != out_features) {
      throw Error("linear: bias " + shp(bv.shape()) + " does not match weight " + shp(w.shape()) +
                  " (expected [" + std::to_string(out_features) + "])");
    }
    detail::check_same_float("linear", xv.dtype(), bv.dtype());
  }
  // x [*, in] as [n, in] (a view when the layout allows).
  const Tensor x2 = xv.rank() == 2 ? xv : xv.reshape({-1, in_features});
  Tensor out = Tensor::empty({x2.shape()[0], out_features}, xv.dtype());
  if (in_features <= detail::train::kSkinny && in_features * out_features <= kStackElems &&
      unit_rows(x2) && w.is_contiguous() && (!bv.defined() || bv.is_contiguous())) {
    // out = b + x W^T in one pass, W^T staged on the stack so the loop runs along out's rows.
    detail::visit_float(xv.dtype(), "linear", [&](auto tag) {
      using T = AFFINE_T(tag);
      T wt[kStackElems];
      const T* pw = w.data<T>();
      for (int64_t o = 0; o < out_features; ++o) {
        for (int64_t k = 0; k < in_features; ++k)
          wt[k * out_features + o] = pw[o * in_features + k];
      }
      detail::train::skinny_k_product<T>(x2.shape()[0], in_features, out_features, x2.data<T>(),
                                         x2.strides()[0], wt, bv.defined() ? bv.data<T>() : nullptr,
                                         false, out.data<T>(), out_features);
    });
  } else {
    if (bv.defined()) out.copy_(bv);  // each row starts as b; the GEMM adds x W^T (beta = 1)
    gemm_view(x2, w.t(), bv.defined() ? 1.0 : 0.0, out);
  }
  if (xv.rank() != 2) {
    Shape s = xv.shape();
    s[s.size() - 1] = out_features;
    out = out.reshape(s);
  }
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &linear_backward, {&x, &weight, &bias});
  n.saved[0] = x2;
  n.saved[1] = w;
  n.dims = xv.shape();
  return rec.var;
}

}  // namespace affine
