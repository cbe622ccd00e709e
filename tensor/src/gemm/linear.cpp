// linear (x W^T + b, optional activation) and its backward kernels, the GEMM family's entry point
// for a layer. Wide layers go to the GEMM (gemm_strided with the operands' strides: W^T is a
// view, never a copy) with the bias pre-filled so the GEMM accumulates onto it (beta = 1).
// Skinny layers (in or out features <= kSkinny, as in the seed's 2-100-2-1 network) take the
// skinny kernels of the active ISA (skinny_impl.hpp): they are memory-bound, so the passes they
// save (bias copy, separate column sums, tanh' after dX, tanh after the product) are most of
// their cost.
//
// Threads: rows are split into blocks fixed by the row count alone (rows_per_task), the same in
// the forward and the backward, so a thread reads back in the backward the rows it wrote in the
// forward. Forward and dX rows are independent; dW and db are summed per block into partials
// that are added in block order, so every result is bit-identical for any thread count.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>

#include "affine/tensor/gemm.hpp"
#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/linear.hpp"
#include "affine/tensor/internal/scalar_math.hpp"
#include "affine/tensor/internal/unary_backward.hpp"
#include "affine/tensor/linear.hpp"
#include "affine/tensor/ops.hpp"
#include "cpu.hpp"
#include "gemm/kernel.hpp"
#include "gemm/parallel_threshold.hpp"
#include "parallel_for.hpp"
#include "vmath.hpp"

namespace affine {
namespace {

using detail::gemm::active_kernels_for;
using detail::gemm::SkinnyMode;

// The widest side (in or out features) the skinny kernels take, and the longest other side
// (their accumulators stay on the stack).
constexpr int64_t kSkinny = 8;
constexpr int64_t kMaxWide = 1024;
constexpr int64_t kStackElems = 4096;  // in * out staged on the stack (32 KiB in float64)
// Rows per task, forward and backward alike: about a sixteenth of the rows (a few tasks per
// thread, so one held up by a neighbour sheds work to the others), in whole kernel chunks, from
// 256 rows (batch 1,000 still splits into 4) to 1,024 (at 100,000 rows the step on 2 threads was
// no faster with 4,096: the last task stolen leaves the other thread idle longer). A function of
// the row count only: dW and db's partial sums are per task, so the thread count must not move
// the blocks.
int64_t rows_per_task(int64_t rows) {
  constexpr int64_t kChunk = detail::gemm::kSkinnyChunkRows;
  const int64_t sixteenth = (rows + 15) / 16;
  return std::clamp((sixteenth + kChunk - 1) / kChunk * kChunk, int64_t{256}, int64_t{1024});
}

// Elements between two tasks' partial sums in the shared buffer: `part` rounded up to whole
// cache lines (gemm::scratch is line-aligned), so no line holds two tasks' sums. Packed (502
// floats for the seed's two layers), the line at each boundary went back and forth between the
// cores while both tasks added a chunk's sums into it (worth a few percent of the fused backward
// at batch 1,000 on 2 threads, about this VM's noise).
template <class T>
int64_t task_sums_stride(int64_t part) {
  constexpr int64_t line = 64 / int64_t{sizeof(T)};
  return (part + line - 1) / line * line;
}

std::string shp(const Shape& s) { return to_string(s); }

// A 2-D view whose rows are unit-stride (any row stride).
bool unit_rows(const Tensor& t) {
  return t.rank() == 2 && (t.shape()[1] <= 1 || t.strides()[1] == 1);
}

// Threads for one fork-join over `work` multiply-adds. worth_threads counts them at the
// micro-kernel's rate, which these memory-bound kernels do not reach, so it errs towards one
// thread.
template <class T>
int threads_for(int64_t work) {
  return detail::gemm::worth_threads<T>(work, 1) ? num_threads() : 1;
}

// Runs fn(r0, r1) over [0, rows) in blocks of `block` rows (the split depends on rows only).
template <class F>
void for_row_blocks(int64_t rows, int64_t block, int threads, const F& fn) {
  const int64_t tasks = (rows + block - 1) / block;
  if (tasks <= 1) {
    fn(int64_t{0}, rows);
    return;
  }
  detail::parallel_for(tasks, threads,
                       [&](int64_t t) { fn(t * block, std::min(rows, (t + 1) * block)); });
}

// C := A B + beta C for 2-D views of one dtype (any strides; C must not overlap A or B).
void gemm_view(const Tensor& a, const Tensor& b, double beta, Tensor& c) {
  detail::visit_float(c.dtype(), "linear", [&](auto tag) {
    using T = AFFINE_T(tag);
    gemm_strided(a.shape()[0], b.shape()[1], a.shape()[1], T(1), a.data<T>(), a.strides()[0],
                 a.strides()[1], b.data<T>(), b.strides()[0], b.strides()[1], static_cast<T>(beta),
                 c.data<T>(), c.strides()[0], c.strides()[1]);
  });
}

// The activation epilogue, in place on n contiguous elements, with the same kernels as the
// tensor ops (vmath for float32 tanh and sigmoid), so linear(x, W, b, act) == act(linear(x, W, b)).
template <class T>
void activate(T* p, int64_t n, LinearActivation act) {
  switch (act) {
    case LinearActivation::none:
      return;
    case LinearActivation::relu:
      for (int64_t i = 0; i < n; ++i) p[i] = p[i] < T(0) ? T(0) : p[i];
      return;
    case LinearActivation::tanh:
      if constexpr (sizeof(T) == 4) {
        detail::vmath::active().tanh(p, p, n);
      } else {
        for (int64_t i = 0; i < n; ++i) p[i] = std::tanh(p[i]);
      }
      return;
    case LinearActivation::sigmoid:
      if constexpr (sizeof(T) == 4) {
        detail::vmath::active().sigmoid(p, p, n);
      } else {
        for (int64_t i = 0; i < n; ++i) p[i] = detail::stable_sigmoid(p[i]);
      }
      return;
  }
}

// What `act` costs per element, in the multiply-adds worth_threads counts (at the
// micro-kernel's rate), so a forward's estimate includes its activation. tanh is most of the
// seed's first layer (~27 ns a row of 100 on the Zen 5 VM, against ~4 ns for its 400
// multiply-adds): counted as multiply-adds alone, a 10,000-row forward of ~270 us looked like
// ~40 us and ran on one thread. Measured on first use per activation (activate() over an
// L1-resident block, the best of a few batches; ~10 us in float32) and kept for the process.
template <class T>
int64_t activation_madds(LinearActivation act) {
  if (act == LinearActivation::none) return 0;
  static std::atomic<int64_t> cached[4] = {-1, -1, -1, -1};
  std::atomic<int64_t>& slot = cached[static_cast<int>(act)];  // none, relu, tanh, sigmoid
  if (const int64_t c = slot.load(std::memory_order_relaxed); c >= 0) return c;
  constexpr int64_t kElems = 1024;
  constexpr int kBatches = 5, kPasses = 4;
  T buf[kElems];
  double best = 1e300;
  for (int batch = 0; batch < kBatches; ++batch) {
    // Inputs spread over tanh's and sigmoid's working range, refreshed so no batch sees only
    // saturated values.
    for (int64_t i = 0; i < kElems; ++i) buf[i] = T(-3) + T(6) * T(i) / T(kElems);
    const auto t0 = std::chrono::steady_clock::now();
    for (int pass = 0; pass < kPasses; ++pass) activate(buf, kElems, act);
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const double madds = best * detail::gemm::multiply_add_rate<T>() / double(kElems * kPasses);
  const int64_t cost = std::max<int64_t>(1, static_cast<int64_t>(std::lround(madds)));
  slot.store(cost, std::memory_order_relaxed);
  return cost;
}

// Threads for a forward pass of `madds` multiply-adds plus n1 elements through a1 and n2 through
// a2 (the activations are only measured when more than one thread is allowed).
template <class T>
int threads_for_forward(int64_t madds, int64_t n1, LinearActivation a1, int64_t n2 = 0,
                        LinearActivation a2 = LinearActivation::none) {
  if (num_threads() <= 1) return 1;
  return threads_for<T>(madds + n1 * activation_madds<T>(a1) + n2 * activation_madds<T>(a2));
}

// Threads for linear_tanh_linear's forward on `rows` rows (in -> hid, tanh, -> out, out_act).
template <class T>
int threads_for_two_layers(int64_t rows, int64_t in_f, int64_t hid, int64_t out_f,
                           LinearActivation out_act) {
  return threads_for_forward<T>(rows * hid * (in_f + out_f), rows * hid, LinearActivation::tanh,
                                rows * out_f, out_act);
}

// detail::activation_backward on n contiguous elements through raw pointers, for a chunk of rows
// inside a kernel's task (no Tensor per chunk): the same vmath kernels in float32 and the unary
// table's formulas in float64, so the gradient has the ops' bits (linear_test checks it).
// relu' reads y > 0, which holds exactly where the input was > 0.
template <class T>
void activation_backward(const T* g, const T* y, T* out, int64_t n, LinearActivation act) {
  switch (act) {
    case LinearActivation::none:
      if (out != g) std::memcpy(out, g, static_cast<size_t>(n) * sizeof(T));
      return;
    case LinearActivation::relu:
      for (int64_t i = 0; i < n; ++i) out[i] = y[i] > T(0) ? g[i] : T(0);
      return;
    case LinearActivation::tanh:
      if constexpr (sizeof(T) == 4) {
        detail::vmath::active().tanh_backward(g, y, out, n);
      } else {
        for (int64_t i = 0; i < n; ++i) out[i] = g[i] * (T(1) - y[i] * y[i]);
      }
      return;
    case LinearActivation::sigmoid:
      if constexpr (sizeof(T) == 4) {
        detail::vmath::active().sigmoid_backward(g, y, out, n);
      } else {
        for (int64_t i = 0; i < n; ++i) out[i] = g[i] * y[i] * (T(1) - y[i]);
      }
      return;
  }
}

void check_activation(LinearActivation act) {
  if (act != LinearActivation::none && act != LinearActivation::relu &&
      act != LinearActivation::tanh && act != LinearActivation::sigmoid) {
    throw Error("linear: unknown activation " + std::to_string(static_cast<int>(act)));
  }
}

// activation_backward over rows x cols: g with row stride ldg, y and out contiguous.
template <class T>
void activation_backward_rows(const T* g, int64_t ldg, const T* y, T* out, int64_t rows,
                              int64_t cols, LinearActivation act) {
  if (ldg == cols) {
    activation_backward(g, y, out, rows * cols, act);
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    activation_backward(g + r * ldg, y + r * cols, out + r * cols, cols, act);
  }
}

// The checks of linear(x, weight, bias) for an input of shape x_shape and dtype x_dtype.
void check_linear(const Shape& x_shape, DType x_dtype, const Tensor& weight, const Tensor& bias) {
  if (!weight.defined()) throw Error("linear: undefined input or weight");
  if (weight.rank() != 2) {
    throw Error("linear: weight must be 2-D [out, in], got shape " + shp(weight.shape()));
  }
  const int64_t in_f = weight.shape()[1];
  const int64_t out_f = weight.shape()[0];
  if (x_shape.size() < 1 || x_shape.back() != in_f) {
    throw Error("linear: input " + shp(x_shape) + " and weight " + shp(weight.shape()) +
                " do not match (the input's last dimension must be in_features = " +
                std::to_string(in_f) + ")");
  }
  detail::check_same_float("linear", x_dtype, weight.dtype());
  if (bias.defined()) {
    if (bias.rank() != 1 || bias.shape()[0] != out_f) {
      throw Error("linear: bias " + shp(bias.shape()) + " does not match weight " +
                  shp(weight.shape()) + " (expected [" + std::to_string(out_f) + "])");
    }
    detail::check_same_float("linear", x_dtype, bias.dtype());
  }
}

// W^T [in, out] staged on the stack (wt holds kStackElems) for the skinny product.
template <class T>
void stage_transposed(const Tensor& w, T* wt) {
  const int64_t out_f = w.shape()[0];
  const int64_t in_f = w.shape()[1];
  const T* pw = w.data<T>();
  for (int64_t o = 0; o < out_f; ++o) {
    for (int64_t k = 0; k < in_f; ++k) wt[k * out_f + o] = pw[o * in_f + k];
  }
}

// Rows per sub-block so that a block of `width` elements per row fills half of L1 (the CPU's,
// read at run time).
int64_t l1_rows(int64_t width, int64_t elem_bytes) {
  return std::max<int64_t>(
      1, detail::cache_sizes().l1d / 2 / std::max<int64_t>(1, width * elem_bytes));
}

// dst[r * width + j] = row[j] for r < rows, in doubling copies: log2(rows) memcpy calls, not
// one per row (1,000 8-byte calls for a 1,000-row block of a 2-wide layer: 1.4 us of the step).
template <class T>
void repeat_row(const T* row, int64_t width, int64_t rows, T* dst) {
  if (rows <= 0 || width <= 0) return;
  std::memcpy(dst, row, sizeof(T) * size_t(width));
  for (int64_t done = 1; done < rows;) {
    const int64_t n = std::min(done, rows - done);
    std::memcpy(dst + done * width, dst, sizeof(T) * size_t(n * width));
    done += n;
  }
}

// The partial sums of one skinny dW/db pass (per task: acc then the bias sums, task order
// reduced by the caller) written to dw [out, in] and db: acc is [in, out] when small_in, else
// [out, in].
template <class T>
void store_param_sums(const T* buf, bool small_in, int64_t in_f, int64_t out_f, Tensor* dw,
                      bool accumulate_w, Tensor* db, bool accumulate_b) {
  if (dw != nullptr) {
    T* pd = dw->data<T>();
    // The long loop innermost, the flags outside it: with a skinny side of 1 to 8 a loop over it
    // innermost ran a few iterations per test of the flags.
    if (small_in) {  // buf is [in, out]: dW = buf^T
      for (int64_t k = 0; k < in_f; ++k) {
        const T* src = buf + k * out_f;
        if (accumulate_w) {
          for (int64_t o = 0; o < out_f; ++o) pd[o * in_f + k] += src[o];
        } else {
          for (int64_t o = 0; o < out_f; ++o) pd[o * in_f + k] = src[o];
        }
      }
    } else if (accumulate_w) {  // buf is [out, in], dW's own layout
      for (int64_t i = 0; i < out_f * in_f; ++i) pd[i] += buf[i];
    } else {
      std::copy(buf, buf + out_f * in_f, pd);
    }
  }
  if (db != nullptr) {
    T* pb = db->data<T>();
    const T* s = buf + in_f * out_f;
    if (accumulate_b) {
      for (int64_t o = 0; o < out_f; ++o) pb[o] += s[o];
    } else {
      std::copy(s, s + out_f, pb);
    }
  }
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias,
              LinearActivation activation) {
  if (!x.defined() || !weight.defined()) throw Error("linear: undefined input or weight");
  check_activation(activation);
  check_linear(x.shape(), x.dtype(), weight, bias);
  const int64_t in_f = weight.shape()[1];
  const int64_t out_f = weight.shape()[0];
  const Tensor x2 = x.rank() == 2 ? x : x.reshape({-1, in_f});
  const int64_t rows = x2.shape()[0];
  Tensor out = Tensor::empty({rows, out_f}, x.dtype());
  if (rows > 0 && out_f > 0) {
    if (in_f <= kSkinny && in_f > 0 && in_f * out_f <= kStackElems && unit_rows(x2) &&
        weight.is_contiguous() && (!bias.defined() || bias.is_contiguous())) {
      // out = b + x W^T one block of rows at a time, W^T staged on the stack so the kernel runs
      // along out's rows; the activation follows on the block while it is in cache.
      detail::visit_float(x.dtype(), "linear", [&](auto tag) {
        using T = AFFINE_T(tag);
        T wt[kStackElems];
        stage_transposed(weight, wt);
        const auto& kern = active_kernels_for<T>();
        const T* pb = bias.defined() ? bias.data<T>() : nullptr;
        const T* px = x2.data<T>();
        const int64_t ldx = x2.strides()[0];
        T* po = out.data<T>();
        // tanh is applied by the kernel to each vector before it is stored. Other activations
        // follow in row sub-blocks that fill half of L1, so they read what the product just
        // wrote from L1, not L2 or memory.
        const bool in_kernel = activation == LinearActivation::tanh;
        const LinearActivation after = in_kernel ? LinearActivation::none : activation;
        const int64_t sub = after == LinearActivation::none
                                ? rows_per_task(rows)
                                : std::max<int64_t>(1, detail::cache_sizes().l1d / 2 /
                                                           (out_f * int64_t{sizeof(T)}));
        const int threads = threads_for_forward<T>(rows * in_f * out_f, rows * out_f, activation);
        for_row_blocks(rows, rows_per_task(rows), threads, [&](int64_t r0, int64_t r1) {
          for (int64_t s0 = r0; s0 < r1; s0 += sub) {
            const int64_t sn = std::min(r1, s0 + sub) - s0;
            kern.skinny_product(sn, in_f, out_f, px + s0 * ldx, ldx, wt, pb,
                                in_kernel ? SkinnyMode::tanh : SkinnyMode::set, nullptr, 0,
                                po + s0 * out_f, out_f);
            activate(po + s0 * out_f, sn * out_f, after);
          }
        });
      });
      activation = LinearActivation::none;
    } else {
      if (bias.defined()) out.copy_(bias);  // each row starts as b; the GEMM adds x W^T
      gemm_view(x2, weight.t(), bias.defined() ? 1.0 : 0.0, out);
    }
  }
  if (activation != LinearActivation::none && out.numel() > 0) {
    detail::visit_float(out.dtype(), "linear", [&](auto tag) {
      using T = AFFINE_T(tag);
      activate(out.data<T>(), out.numel(), activation);
    });
  }
  if (x.rank() != 2) {
    Shape s = x.shape();
    s[s.size() - 1] = out_f;
    out = out.reshape(s);
  }
  return out;
}

namespace detail {

void activation_backward(const Tensor& g, const Tensor& y, LinearActivation act, Tensor& out) {
  switch (act) {
    case LinearActivation::none:
      if (!out.shares_storage(g)) out.copy_(g);
      return;
    case LinearActivation::relu:  // y > 0 exactly where the input was > 0
      relu_backward(g, y, out);
      return;
    case LinearActivation::tanh:
      tanh_backward(g, y, out);
      return;
    case LinearActivation::sigmoid:
      sigmoid_backward(g, y, out);
      return;
  }
  check_activation(act);
}

TwoLayer linear_tanh_linear(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                            const Tensor& b2, LinearActivation out_act) {
  if (!x.defined()) throw Error("linear: undefined input or weight");
  check_activation(out_act);
  check_linear(x.shape(), x.dtype(), w1, b1);
  Shape h_shape = x.shape();
  h_shape[h_shape.size() - 1] = w1.shape()[0];
  check_linear(h_shape, x.dtype(), w2, b2);
  const int64_t in_f = w1.shape()[1];
  const int64_t hid = w1.shape()[0];
  const int64_t out_f = w2.shape()[0];
  const Tensor x2 = x.rank() == 2 ? x : x.reshape({-1, in_f});
  const int64_t rows = x2.shape()[0];
  const bool skinny = in_f <= kSkinny && out_f <= kSkinny && hid <= kMaxWide &&
                      in_f * hid <= kStackElems && unit_rows(x2) && w1.is_contiguous() &&
                      w2.is_contiguous() && (!b1.defined() || b1.is_contiguous()) &&
                      (!b2.defined() || b2.is_contiguous());
  if (!skinny || rows == 0) {
    Tensor h = affine::linear(x2, w1, b1, LinearActivation::tanh);
    Tensor z = affine::linear(h, w2, b2, out_act);
    return {std::move(h), std::move(z)};
  }
  Tensor h = Tensor::empty({rows, hid}, x.dtype());
  Tensor z = Tensor::empty({rows, out_f}, x.dtype());
  visit_float(x.dtype(), "linear", [&](auto tag) {
    using T = AFFINE_T(tag);
    T w1t[kStackElems];
    stage_transposed(w1, w1t);
    const auto& kern = gemm::active_kernels_for<T>();
    const T* pb1 = b1.defined() ? b1.data<T>() : nullptr;
    const T* pb2 = b2.defined() ? b2.data<T>() : nullptr;
    const T* pw2 = w2.data<T>();
    const T* px = x2.data<T>();
    const int64_t ldx = x2.strides()[0];
    T* ph = h.data<T>();
    T* pz = z.data<T>();
    // Each L1-sized block of rows: h = tanh(x W1^T + b1) (written once, kept for backward),
    // then z = out_act(h W2^T + b2) (the dot kernel, one row of h against each row of W2) while
    // h is still in L1.
    const int64_t sub = l1_rows(hid, sizeof(T));
    const int threads = threads_for_two_layers<T>(rows, in_f, hid, out_f, out_act);
    for_row_blocks(rows, rows_per_task(rows), threads, [&](int64_t r0, int64_t r1) {
      for (int64_t s0 = r0; s0 < r1; s0 += sub) {
        const int64_t sn = std::min(r1, s0 + sub) - s0;
        T* hb = ph + s0 * hid;
        T* zb = pz + s0 * out_f;
        kern.skinny_product(sn, in_f, hid, px + s0 * ldx, ldx, w1t, pb1, SkinnyMode::tanh, nullptr,
                            0, hb, hid);
        if (pb2 != nullptr) repeat_row(pb2, out_f, sn, zb);
        kern.dot(sn, out_f, hid, T(1), hb, hid, pw2, hid, pb2 != nullptr ? T(1) : T(0), zb, out_f,
                 1);
        activate(zb, sn * out_f, out_act);
      }
    });
  });
  return {std::move(h), std::move(z)};
}

void linear_backward_input(const Tensor& g, const Tensor& w, Tensor& dx, bool accumulate,
                           const Tensor* tanh_y) {
  const int64_t rows = g.shape()[0];
  const int64_t out_f = w.shape()[0];
  const int64_t in_f = w.shape()[1];
  const bool with_tanh = tanh_y != nullptr;
  if (out_f <= kSkinny && out_f > 0 && in_f <= kMaxWide && unit_rows(g) && w.is_contiguous() &&
      dx.is_contiguous() && (!with_tanh || tanh_y->is_contiguous()) && !(accumulate && with_tanh)) {
    visit_float(g.dtype(), "linear", [&](auto tag) {
      using T = AFFINE_T(tag);
      const auto& kern = gemm::active_kernels_for<T>();
      const T* pg = g.data<T>();
      const int64_t ldg = g.strides()[0];
      const T* pw = w.data<T>();
      const T* py = with_tanh ? tanh_y->data<T>() : nullptr;
      T* pd = dx.data<T>();
      const SkinnyMode mode = with_tanh ? SkinnyMode::tanh_grad
                                        : (accumulate ? SkinnyMode::accumulate : SkinnyMode::set);
      for_row_blocks(rows, rows_per_task(rows), threads_for<T>(rows * in_f * out_f),
                     [&](int64_t r0, int64_t r1) {
                       kern.skinny_product(r1 - r0, out_f, in_f, pg + r0 * ldg, ldg, pw, nullptr,
                                           mode, py != nullptr ? py + r0 * in_f : nullptr, in_f,
                                           pd + r0 * in_f, in_f);
                     });
    });
    return;
  }
  gemm_view(g, w, accumulate ? 1.0 : 0.0, dx);  // dX = G W  [n,out][out,in]
  if (with_tanh) {
    if (accumulate) throw Error("linear: the tanh gradient cannot accumulate into dx");
    tanh_backward(dx, *tanh_y, dx);
  }
}

void linear_backward_params(const Tensor& g, const Tensor& x, Tensor* dw, bool accumulate_w,
                            Tensor* db, bool accumulate_b, const Tensor* tanh_y) {
  const int64_t rows = g.shape()[0];
  const int64_t out_f = g.shape()[1];
  const int64_t in_f = x.shape()[1];
  const bool small_in = in_f <= kSkinny && out_f <= kMaxWide;
  const bool small_out = out_f <= kSkinny && in_f <= kMaxWide;
  // The tanh's derivative is applied as g is loaded when g is the kernel's wide (x) side.
  const bool fuse_tanh = tanh_y == nullptr || (small_in && unit_rows(*tanh_y));
  if ((small_in || small_out) && fuse_tanh && in_f > 0 && out_f > 0 &&
      in_f * out_f <= kStackElems && unit_rows(g) && unit_rows(x) &&
      (dw == nullptr || dw->is_contiguous()) && (db == nullptr || db->is_contiguous())) {
    visit_float(g.dtype(), "linear", [&](auto tag) {
      using T = AFFINE_T(tag);
      const auto& kern = gemm::active_kernels_for<T>();
      const T* pg = g.data<T>();
      const T* px = x.data<T>();
      const int64_t ldg = g.strides()[0];
      const int64_t ldx = x.strides()[0];
      const T* py = tanh_y != nullptr ? tanh_y->data<T>() : nullptr;
      const int64_t ldy = tanh_y != nullptr ? tanh_y->strides()[0] : 0;
      // Per task: acc ([in, out] = X^T G when small_in, else [out, in] = G^T X) then db's sums.
      const int64_t part = in_f * out_f + out_f;
      const int64_t stride = task_sums_stride<T>(part);
      const int64_t block = rows_per_task(rows);
      const int64_t tasks = std::max<int64_t>(1, (rows + block - 1) / block);
      T* buf =
          static_cast<T*>(gemm::scratch(gemm::kScratchLinear, tasks * stride * int64_t{sizeof(T)}));
      const bool want_b = db != nullptr;
      detail::parallel_for(tasks, threads_for<T>(rows * in_f * out_f), [&](int64_t t) {
        const int64_t r0 = t * block;
        const int64_t rn = std::min(rows, r0 + block) - r0;
        T* acc = buf + t * stride;
        T* sums = want_b ? acc + in_f * out_f : nullptr;
        if (small_in) {
          kern.skinny_outer(rn, in_f, out_f, px + r0 * ldx, ldx, pg + r0 * ldg, ldg,
                            py != nullptr ? py + r0 * ldy : nullptr, ldy, acc, nullptr, sums);
        } else {
          kern.skinny_outer(rn, out_f, in_f, pg + r0 * ldg, ldg, px + r0 * ldx, ldx, nullptr, 0,
                            acc, sums, nullptr);
        }
      });
      for (int64_t t = 1; t < tasks; ++t) {  // fixed order: task 0, then 1, 2, ...
        for (int64_t i = 0; i < part; ++i) buf[i] += buf[t * stride + i];
      }
      store_param_sums(buf, small_in, in_f, out_f, dw, accumulate_w, db, accumulate_b);
    });
    return;
  }
  if (tanh_y != nullptr) {  // not fused: the gradient through the tanh is materialised first
    Tensor dz = Tensor::empty(g.shape(), g.dtype());
    tanh_backward(g, *tanh_y, dz);
    linear_backward_params(dz, x, dw, accumulate_w, db, accumulate_b);
    return;
  }
  if (dw != nullptr) gemm_view(g.t(), x, accumulate_w ? 1.0 : 0.0, *dw);  // dW = G^T X
  if (db != nullptr) column_sums(g, *db, accumulate_b);
}

void linear_tanh_linear_backward(const Tensor& gz, const Tensor& x, const Tensor& h,
                                 const Tensor& w1, const Tensor& w2, const TwoLayerGrads& out,
                                 const Tensor* z, LinearActivation out_act) {
  check_activation(out_act);
  if (out_act != LinearActivation::none && (z == nullptr || !z->is_contiguous() ||
                                            z->shape() != gz.shape() || z->dtype() != gz.dtype())) {
    throw Error(
        "linear: the output activation's backward needs the op's contiguous output, of "
        "the gradient's shape " +
        shp(gz.shape()) + "; got " +
        (z == nullptr || !z->defined() ? std::string("none") : shp(z->shape())));
  }
  const int64_t rows = gz.shape()[0];
  const int64_t out_f = w2.shape()[0];
  const int64_t hid = w1.shape()[0];
  const int64_t in_f = w1.shape()[1];
  auto contiguous_or_null = [](const Tensor* t) { return t == nullptr || t->is_contiguous(); };
  const bool skinny = in_f <= kSkinny && out_f <= kSkinny && hid <= kMaxWide &&
                      in_f * hid <= kStackElems && unit_rows(gz) && unit_rows(x) &&
                      h.is_contiguous() && w2.is_contiguous() && contiguous_or_null(out.dw1) &&
                      contiguous_or_null(out.db1) && contiguous_or_null(out.dw2) &&
                      contiguous_or_null(out.db2);
  // dz = dLoss / d(x W1^T + b1) = (gz W2) (1 - h^2): stored whole only when dx needs it (or the
  // shapes are not skinny), else one chunk at a time in a worker's scratch.
  Tensor dz = out.dx != nullptr || !skinny ? Tensor::empty({rows, hid}, gz.dtype()) : Tensor();
  if (!skinny && out_act != LinearActivation::none) {
    // The gradient of the second product, gz through the activation, stored whole.
    Tensor g2 = Tensor::empty(gz.shape(), gz.dtype());
    activation_backward(gz, *z, out_act, g2);
    linear_tanh_linear_backward(g2, x, h, w1, w2, out);
    return;
  }
  if (!skinny) {
    linear_backward_input(gz, w2, dz, false, &h);
    if (out.dw2 != nullptr || out.db2 != nullptr) {
      linear_backward_params(gz, h, out.dw2, out.accumulate_w2, out.db2, out.accumulate_b2);
    }
    if (out.dw1 != nullptr || out.db1 != nullptr) {
      linear_backward_params(dz, x, out.dw1, out.accumulate_w1, out.db1, out.accumulate_b1);
    }
    if (out.dx != nullptr) linear_backward_input(dz, w1, *out.dx, out.accumulate_x);
    return;
  }
  visit_float(gz.dtype(), "linear", [&](auto tag) {
    using T = AFFINE_T(tag);
    const auto& kern = gemm::active_kernels_for<T>();
    const T* pgz = gz.data<T>();
    const T* py = out_act != LinearActivation::none ? z->data<T>() : nullptr;
    const T* px = x.data<T>();
    const T* ph = h.data<T>();
    const T* pw2 = w2.data<T>();
    const int64_t ldgz = gz.strides()[0];
    const int64_t ldx = x.strides()[0];
    T* pdz = dz.defined() ? dz.data<T>() : nullptr;
    // Per task (rows_per_task): layer 1's sums ([in, hid] = X^T dZ, then db1) and layer 2's
    // ([out, hid] = G^T H, then db2), the same partial sums as linear_backward_params forms for
    // each layer, so the results equal the unfused backward's bit for bit.
    const int64_t part1 = in_f * hid + hid;
    const int64_t part = part1 + out_f * hid + out_f;
    const int64_t stride = task_sums_stride<T>(part);
    const int64_t block = rows_per_task(rows);
    const int64_t tasks = std::max<int64_t>(1, (rows + block - 1) / block);
    T* buf =
        static_cast<T*>(gemm::scratch(gemm::kScratchLinear, tasks * stride * int64_t{sizeof(T)}));
    constexpr int64_t kChunk = gemm::kSkinnyChunkRows;
    // Split whenever the forward was (the same estimate), not only when this pass's own
    // multiply-adds are worth it: the forward wrote h in these row blocks, so after a split
    // forward a serial backward reads half of h from the other core's caches. (At batch 1,000
    // on the Zen 5 VM the forward split and this pass did not, and it went from 13 to 16 us.)
    const int threads = std::max(threads_for_two_layers<T>(rows, in_f, hid, out_f, out_act),
                                 threads_for<T>(rows * hid * (in_f + 2 * out_f)));
    detail::parallel_for(tasks, threads, [&](int64_t t) {
      const int64_t r0 = t * block;
      const int64_t rn = std::min(rows, r0 + block) - r0;
      T* acc = buf + t * stride;
      // This worker's chunk of dz (when not stored whole), one chunk's partial sums and one
      // chunk's gradient through the output activation.
      T* scratch = static_cast<T*>(gemm::scratch(
          gemm::kScratchLinearBlock, (kChunk * hid + part + kChunk * out_f) * int64_t{sizeof(T)}));
      T* blk = scratch + kChunk * hid;
      T* gact = blk + part;
      // Each chunk of rows through every pass while it is in L1/L2: the gradient through the
      // output activation, dz, then the sums.
      for (int64_t c0 = r0; c0 < r0 + rn || c0 == r0; c0 += kChunk) {
        const int64_t cn = std::min(r0 + rn, c0 + kChunk) - c0;
        T* sums = c0 == r0 ? acc : blk;
        // gc: the chunk's gradient of the second product (gz itself without an activation).
        const T* gc = pgz + c0 * ldgz;
        int64_t ldg = ldgz;
        if (py != nullptr) {
          activation_backward_rows(gc, ldgz, py + c0 * out_f, gact, cn, out_f, out_act);
          gc = gact;
          ldg = out_f;
        }
        // One pass over the chunk's h with dz in registers when the widths allow, else
        // three kernels through dz in the scratch chunk. The same sums either way.
        if (kern.skinny_tanh_layers(cn, out_f, in_f, hid, gc, ldg, pw2, ph + c0 * hid,
                                    px + c0 * ldx, ldx, pdz != nullptr ? pdz + c0 * hid : nullptr,
                                    sums + part1, sums + part1 + out_f * hid, sums,
                                    sums + in_f * hid)) {
          if (sums == blk) {
            for (int64_t i = 0; i < part; ++i) acc[i] += blk[i];
          }
          continue;
        }
        T* dzc = pdz != nullptr ? pdz + c0 * hid : scratch;
        kern.skinny_product(cn, out_f, hid, gc, ldg, pw2, nullptr, SkinnyMode::tanh_grad,
                            ph + c0 * hid, hid, dzc, hid);
        kern.skinny_outer(cn, out_f, hid, gc, ldg, ph + c0 * hid, hid, nullptr, 0, sums + part1,
                          sums + part1 + out_f * hid, nullptr);
        kern.skinny_outer(cn, in_f, hid, px + c0 * ldx, ldx, dzc, hid, nullptr, 0, sums, nullptr,
                          sums + in_f * hid);
        if (sums == blk) {
          for (int64_t i = 0; i < part; ++i) acc[i] += blk[i];
        }
      }
    });
    for (int64_t t = 1; t < tasks; ++t) {  // fixed order: task 0, then 1, 2, ...
      for (int64_t i = 0; i < part; ++i) buf[i] += buf[t * stride + i];
    }
    store_param_sums(buf, true, in_f, hid, out.dw1, out.accumulate_w1, out.db1, out.accumulate_b1);
    store_param_sums(buf + part1, false, hid, out_f, out.dw2, out.accumulate_w2, out.db2,
                     out.accumulate_b2);
  });
  if (out.dx != nullptr) linear_backward_input(dz, w1, *out.dx, out.accumulate_x);
}

void column_sums(const Tensor& g, Tensor& dst, bool accumulate) {
  const int64_t n = g.shape()[0];
  const int64_t m = g.shape()[1];
  visit_float(g.dtype(), "linear", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* pg = g.data<T>();
    T* pd = dst.data<T>();
    const int64_t rs = g.strides()[0];
    const int64_t cs = g.strides()[1];
    const int64_t ds = m <= 1 ? 1 : dst.strides()[0];
    if ((cs == 1 || m <= 1) && m <= kMaxWide) {
      T sums[kMaxWide];
      gemm::active_kernels_for<T>().column_sums(n, m, pg, rs, sums);
      for (int64_t j = 0; j < m; ++j) pd[j * ds] = accumulate ? pd[j * ds] + sums[j] : sums[j];
      return;
    }
    // Wide or strided: one pass over the rows (rare in training; order fixed by the shapes).
    if (!accumulate) {
      for (int64_t j = 0; j < m; ++j) pd[j * ds] = T(0);
    }
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < m; ++j) pd[j * ds] += pg[i * rs + j * cs];
    }
  });
}

}  // namespace detail
}  // namespace affine
