// 2-D convolution as im2col + GEMM (see nn_kernels.hpp), forward and backward.
#include <algorithm>
#include <cstring>
#include <string>

#include "affine/tensor/error.hpp"
#include "affine/tensor/gemm.hpp"
#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/nn_kernels.hpp"

namespace affine::detail {

namespace {

std::string pair_text(int64_t a, int64_t b) { return std::to_string(a) + "x" + std::to_string(b); }

// The range of output positions o in [0, out) whose input position o * stride - pad + offset
// lies in [0, size): [*lo, *hi).
void valid_range(int64_t out, int64_t stride, int64_t pad, int64_t offset, int64_t size,
                 int64_t* lo, int64_t* hi) {
  const int64_t shift = offset - pad;  // input = o * stride + shift
  // smallest o with o * stride + shift >= 0
  int64_t l = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
  // smallest o with o * stride + shift >= size
  int64_t h = size - shift <= 0 ? 0 : (size - shift + stride - 1) / stride;
  *lo = std::min(l, out);
  *hi = std::clamp(h, *lo, out);
}

// Whether, along one kernel offset, consecutive output rows read consecutive runs of the input:
// unit stride along w, and an output row as long as the stride_h input rows it steps over (a
// "same"-padded convolution with stride 1). Then a (channel, kernel offset) block of the columns
// is one run of the input plane, give or take its edge columns.
bool rows_are_one_run(const Window2d& g) {
  return g.stride_w == 1 && g.stride_h * g.width == g.out_w;
}

// Input-plane index of output (oh, 0) under kernel offset (i, j). Index arithmetic, not pointers:
// it may lie left of the input (in the padding).
int64_t row_start(const Window2d& g, int64_t i, int64_t j, int64_t oh) {
  return (oh * g.stride_h - g.pad_h + i * g.dilation_h) * g.width + j * g.dilation_w - g.pad_w;
}

// When rows_are_one_run: elements from a block's first valid position (oh_lo, ow_lo) to its last
// (oh_hi - 1, ow_hi - 1), the same count in the columns and in the input plane.
int64_t run_length(const Window2d& g, int64_t oh_lo, int64_t oh_hi, int64_t ow_lo, int64_t ow_hi) {
  return (oh_hi - 1 - oh_lo) * g.out_w + (ow_hi - ow_lo);
}

// Zeroes columns [0, ow_lo) and [ow_hi, OW) of rows [oh_lo, oh_hi) of a [OH, OW] block: a
// column at a time, a few elements per row (a fill per row would be a library call per row).
template <class T>
void zero_edge_columns(T* block, const Window2d& g, int64_t oh_lo, int64_t oh_hi, int64_t ow_lo,
                       int64_t ow_hi) {
  const auto zero_column = [&](int64_t ow) {
    for (int64_t oh = oh_lo; oh < oh_hi; ++oh) block[oh * g.out_w + ow] = T(0);
  };
  for (int64_t ow = 0; ow < ow_lo; ++ow) zero_column(ow);
  for (int64_t ow = ow_hi; ow < g.out_w; ++ow) zero_column(ow);
}

// Unfolds one sample's channels [c0, c0 + cn) of x ([C, H, W]) into cols [cn * kh * kw, OH * OW].
template <class T>
void im2col(const T* x, const Window2d& g, int64_t c0, int64_t cn, T* cols) {
  const int64_t plane = g.height * g.width;
  const int64_t npos = g.out_h * g.out_w;
  const bool one_run = rows_are_one_run(g);
  for (int64_t c = 0; c < cn; ++c) {
    const T* xc = x + (c0 + c) * plane;
    for (int64_t i = 0; i < g.kernel_h; ++i) {
      int64_t oh_lo = 0;
      int64_t oh_hi = 0;
      valid_range(g.out_h, g.stride_h, g.pad_h, i * g.dilation_h, g.height, &oh_lo, &oh_hi);
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        T* row = cols + ((c * g.kernel_h + i) * g.kernel_w + j) * npos;
        int64_t ow_lo = 0;
        int64_t ow_hi = 0;
        valid_range(g.out_w, g.stride_w, g.pad_w, j * g.dilation_w, g.width, &ow_lo, &ow_hi);
        if (oh_lo == oh_hi || ow_lo == ow_hi) {  // the kernel offset never meets the input
          std::fill(row, row + npos, T(0));
          continue;
        }
        std::fill(row, row + oh_lo * g.out_w, T(0));
        if (one_run) {
          // One copy from the first valid element to the last, then the edge columns, which it
          // filled with the neighbouring input row's ends (or left unwritten), zeroed: one call
          // instead of one per output row of ~30 elements, whose cost was most of the unfolding.
          std::memcpy(row + oh_lo * g.out_w + ow_lo, xc + (row_start(g, i, j, oh_lo) + ow_lo),
                      sizeof(T) * static_cast<size_t>(run_length(g, oh_lo, oh_hi, ow_lo, ow_hi)));
          zero_edge_columns(row, g, oh_lo, oh_hi, ow_lo, ow_hi);
        } else {
          for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
            T* r = row + oh * g.out_w;
            const int64_t b = row_start(g, i, j, oh);
            std::fill(r, r + ow_lo, T(0));
            if (g.stride_w == 1) {
              std::memcpy(r + ow_lo, xc + (b + ow_lo),
                          sizeof(T) * static_cast<size_t>(ow_hi - ow_lo));
            } else {
              for (int64_t ow = ow_lo; ow < ow_hi; ++ow) r[ow] = xc[b + ow * g.stride_w];
            }
            std::fill(r + ow_hi, r + g.out_w, T(0));
          }
        }
        std::fill(row + oh_hi * g.out_w, row + npos, T(0));
      }
    }
  }
}

// d[k] += s[k] for k < n; the two never overlap, which lets the compiler vectorise the loop.
template <class T>
void add_run(T* __restrict d, const T* __restrict s, int64_t n) {
  for (int64_t k = 0; k < n; ++k) d[k] += s[k];
}

// sum of x[0..n), in kLanes interleaved partial sums combined pairwise: independent adds (the
// compiler vectorises them; one running sum waits on each add's latency), and a rounding error
// that grows with n / kLanes, not n.
template <class T>
T sum_run(const T* x, int64_t n) {
  constexpr int kLanes = 16;
  T part[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    for (int l = 0; l < kLanes; ++l) part[l] += x[k + l];
  }
  for (int l = 0; k < n; ++k, ++l) part[l] += x[k];
  for (int width = kLanes / 2; width > 0; width /= 2) {
    for (int l = 0; l < width; ++l) part[l] += part[l + width];
  }
  return part[0];
}

// The adjoint of im2col: adds cols [cn * kh * kw, OH * OW] back into dx channels [c0, c0 + cn).
// When rows_are_one_run, each (channel, kernel offset) block is added as one run: its edge columns
// (which would land on the neighbouring input row) are zeroed in cols first, which is why cols is
// not const. dx starts at +0 and never holds -0, so adding those zeros changes no bit.
template <class T>
void col2im_add(T* cols, const Window2d& g, int64_t c0, int64_t cn, T* dx) {
  const bool one_run = rows_are_one_run(g);
  const int64_t plane = g.height * g.width;
  const int64_t npos = g.out_h * g.out_w;
  for (int64_t c = 0; c < cn; ++c) {
    T* dc = dx + (c0 + c) * plane;
    for (int64_t i = 0; i < g.kernel_h; ++i) {
      int64_t oh_lo = 0;
      int64_t oh_hi = 0;
      valid_range(g.out_h, g.stride_h, g.pad_h, i * g.dilation_h, g.height, &oh_lo, &oh_hi);
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        T* row = cols + ((c * g.kernel_h + i) * g.kernel_w + j) * npos;
        int64_t ow_lo = 0;
        int64_t ow_hi = 0;
        valid_range(g.out_w, g.stride_w, g.pad_w, j * g.dilation_w, g.width, &ow_lo, &ow_hi);
        if (oh_lo == oh_hi || ow_lo == ow_hi) continue;
        if (one_run) {
          zero_edge_columns(row, g, oh_lo, oh_hi, ow_lo, ow_hi);
          add_run(dc + (row_start(g, i, j, oh_lo) + ow_lo), row + oh_lo * g.out_w + ow_lo,
                  run_length(g, oh_lo, oh_hi, ow_lo, ow_hi));
          continue;
        }
        for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
          const T* r = row + oh * g.out_w;
          const int64_t base = row_start(g, i, j, oh);
          if (g.stride_w == 1) {
            add_run(dc + (base + ow_lo), r + ow_lo, ow_hi - ow_lo);
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) dc[base + ow * g.stride_w] += r[ow];
          }
        }
      }
    }
  }
}

// A 1x1 kernel with stride 1 and no padding reads the input as it is: no unfolding needed.
bool is_pointwise(const Window2d& g) {
  return g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 &&
         g.pad_w == 0;
}

}  // namespace

Window2d window_2d(const std::string& who, const Shape& input, int64_t kernel_h, int64_t kernel_w,
                   int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w,
                   int64_t dilation_h, int64_t dilation_w, bool ceil_mode) {
  if (input.size() != 4) {
    throw Error(who + ": expected a 4-D input [N, C, H, W], got " + to_string(input));
  }
  if (kernel_h < 1 || kernel_w < 1 || stride_h < 1 || stride_w < 1 || dilation_h < 1 ||
      dilation_w < 1) {
    throw Error(who + ": kernel " + pair_text(kernel_h, kernel_w) + ", stride " +
                pair_text(stride_h, stride_w) + " and dilation " +
                pair_text(dilation_h, dilation_w) + " must be positive");
  }
  if (pad_h < 0 || pad_w < 0) {
    throw Error(who + ": padding " + pair_text(pad_h, pad_w) + " must not be negative");
  }
  Window2d g;
  g.batch = input[0];
  g.channels = input[1];
  g.height = input[2];
  g.width = input[3];
  g.kernel_h = kernel_h;
  g.kernel_w = kernel_w;
  g.stride_h = stride_h;
  g.stride_w = stride_w;
  g.pad_h = pad_h;
  g.pad_w = pad_w;
  g.dilation_h = dilation_h;
  g.dilation_w = dilation_w;
  const int64_t span_h = dilation_h * (kernel_h - 1) + 1;
  const int64_t span_w = dilation_w * (kernel_w - 1) + 1;
  const int64_t padded_h = g.height + 2 * pad_h;
  const int64_t padded_w = g.width + 2 * pad_w;
  if (span_h > padded_h || span_w > padded_w) {
    throw Error(who + ": kernel " + pair_text(kernel_h, kernel_w) +
                (dilation_h > 1 || dilation_w > 1
                     ? " (spanning " + pair_text(span_h, span_w) + " with dilation)"
                     : std::string()) +
                " is larger than the padded input " + pair_text(padded_h, padded_w) + " (input " +
                to_string(input) + ", padding " + pair_text(pad_h, pad_w) + ")");
  }
  // PyTorch's pooling_output_shape: floor, or with ceil_mode round up, then drop a last window
  // that would start in the right padding (every window keeps an input element).
  const auto out_size = [ceil_mode](int64_t padded, int64_t span, int64_t stride, int64_t in_end) {
    int64_t out = (padded - span + (ceil_mode ? stride - 1 : 0)) / stride + 1;
    if (ceil_mode && (out - 1) * stride >= in_end) --out;
    return out;
  };
  g.out_h = out_size(padded_h, span_h, stride_h, g.height + pad_h);
  g.out_w = out_size(padded_w, span_w, stride_w, g.width + pad_w);
  return g;
}

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Window2d& g,
                      int64_t groups) {
  const int64_t out_c = w.shape()[0];
  const int64_t cg = g.channels / groups;
  const int64_t og = out_c / groups;
  const int64_t kg = cg * g.kernel_h * g.kernel_w;  // GEMM depth per group
  const int64_t npos = g.out_h * g.out_w;
  Tensor y = Tensor::empty({g.batch, out_c, g.out_h, g.out_w}, x.dtype());
  const bool pointwise = is_pointwise(g);
  Tensor cols = pointwise ? Tensor() : Tensor::empty({kg, npos}, x.dtype());
  visit_float(x.dtype(), "conv2d", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pb = b.defined() ? b.data<T>() : nullptr;
    T* py = y.data<T>();
    for (int64_t n = 0; n < g.batch; ++n) {
      const T* xn = px + n * g.channels * g.height * g.width;
      T* yn = py + n * out_c * npos;
      if (pb != nullptr) {
        for (int64_t o = 0; o < out_c; ++o) std::fill(yn + o * npos, yn + (o + 1) * npos, pb[o]);
      }
      for (int64_t gi = 0; gi < groups; ++gi) {
        const T* src = xn + gi * cg * g.height * g.width;  // pointwise: the input is the columns
        if (!pointwise) {
          im2col(xn, g, gi * cg, cg, cols.data<T>());
          src = cols.data<T>();
        }
        gemm(Trans::no, Trans::no, og, npos, kg, T(1), pw + gi * og * kg, kg, src, npos,
             pb != nullptr ? T(1) : T(0), yn + gi * og * npos, npos);
      }
    }
  });
  return y;
}

void conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Window2d& g,
                     int64_t groups, Tensor* dx, Tensor* dw, Tensor* db) {
  const int64_t out_c = w.shape()[0];
  const int64_t cg = g.channels / groups;
  const int64_t og = out_c / groups;
  const int64_t kg = cg * g.kernel_h * g.kernel_w;
  const int64_t npos = g.out_h * g.out_w;
  const int64_t plane = g.height * g.width;
  const bool pointwise = is_pointwise(g);
  Tensor cols = pointwise ? Tensor() : Tensor::empty({kg, npos}, x.dtype());
  if (dx != nullptr) *dx = Tensor::zeros(x.shape(), x.dtype());
  visit_float(x.dtype(), "conv2d", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pdy = dy.data<T>();
    T* pcols = pointwise ? nullptr : cols.data<T>();
    for (int64_t n = 0; n < g.batch; ++n) {
      const T* xn = px + n * g.channels * plane;
      const T* dyn = pdy + n * out_c * npos;
      if (db != nullptr) {
        T* pdb = db->data<T>();
        for (int64_t o = 0; o < out_c; ++o) pdb[o] += sum_run(dyn + o * npos, npos);
      }
      for (int64_t gi = 0; gi < groups; ++gi) {
        const T* wg = pw + gi * og * kg;
        const T* dyg = dyn + gi * og * npos;
        if (dw != nullptr) {
          // dW_g += dY_g [og, P] cols^T [P, kg]
          const T* src = xn + gi * cg * plane;
          if (!pointwise) {
            im2col(xn, g, gi * cg, cg, pcols);
            src = pcols;
          }
          gemm(Trans::no, Trans::yes, og, kg, npos, T(1), dyg, npos, src, npos, T(1),
               dw->data<T>() + gi * og * kg, kg);
        }
        if (dx != nullptr) {
          // dcols = W_g^T [kg, og] dY_g [og, P], folded back onto the input positions.
          T* dxn = dx->data<T>() + n * g.channels * plane;
          if (pointwise) {
            gemm(Trans::yes, Trans::no, kg, npos, og, T(1), wg, kg, dyg, npos, T(0),
                 dxn + gi * cg * plane, npos);
          } else {
            gemm(Trans::yes, Trans::no, kg, npos, og, T(1), wg, kg, dyg, npos, T(0), pcols, npos);
            col2im_add(pcols, g, gi * cg, cg, dxn);
          }
        }
      }
    }
  });
}

}  // namespace affine::detail
