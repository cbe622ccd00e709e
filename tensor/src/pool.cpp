// 2-D max, average and adaptive average pooling over NCHW planes, forward and backward.
#include <algorithm>
#include <limits>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/nn_kernels.hpp"

namespace affine::detail {

Tensor max_pool2d_forward(const Tensor& x, const Window2d& g, Tensor& indices) {
  const Shape out_shape{g.batch, g.channels, g.out_h, g.out_w};
  Tensor y = Tensor::empty(out_shape, x.dtype());
  indices = Tensor::empty(out_shape, DType::i64);
  visit_float(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = AFFINE_T(tag);
    const int64_t planes = g.batch * g.channels;
    const int64_t plane = g.height * g.width;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    int64_t* pi = indices.data<int64_t>();
    for (int64_t c = 0; c < planes; ++c) {
      const T* xc = px + c * plane;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          T best = -std::numeric_limits<T>::infinity();
          int64_t best_at = -1;
          for (int64_t i = 0; i < g.kernel_h; ++i) {
            const int64_t ih = oh * g.stride_h - g.pad_h + i * g.dilation_h;
            if (ih < 0 || ih >= g.height) continue;
            for (int64_t j = 0; j < g.kernel_w; ++j) {
              const int64_t iw = ow * g.stride_w - g.pad_w + j * g.dilation_w;
              if (iw < 0 || iw >= g.width) continue;
              const T v = xc[ih * g.width + iw];
              // NaN propagates, as in PyTorch: a NaN beats every number.
              if (best_at < 0 || v > best || v != v) {
                best = v;
                best_at = ih * g.width + iw;
                if (v != v) break;
              }
            }
          }
          py[(c * g.out_h + oh) * g.out_w + ow] = best;
          pi[(c * g.out_h + oh) * g.out_w + ow] = best_at;
        }
      }
    }
  });
  return y;
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Window2d& g) {
  Tensor dx = Tensor::zeros({g.batch, g.channels, g.height, g.width}, dy.dtype());
  visit_float(dy.dtype(), "max_pool2d", [&](auto tag) {
    using T = AFFINE_T(tag);
    const int64_t planes = g.batch * g.channels;
    const int64_t npos = g.out_h * g.out_w;
    const T* pdy = dy.data<T>();
    const int64_t* pi = indices.data<int64_t>();
    T* pdx = dx.data<T>();
    for (int64_t c = 0; c < planes; ++c) {
      T* dc = pdx + c * g.height * g.width;
      for (int64_t p = 0; p < npos; ++p) {
        if (pi[c * npos + p] >= 0) dc[pi[c * npos + p]] += pdy[c * npos + p];
      }
    }
  });
  return dx;
}

namespace {

// The window of output (oh, ow) clipped to the padded input ([h0, h1) x [w0, w1) in padded
// coordinates shifted back to the input), and its divisor.
struct AvgCell {
  int64_t h0, h1, w0, w1;
  int64_t divisor;
};

AvgCell avg_cell(const Window2d& g, int64_t oh, int64_t ow, bool count_include_pad) {
  int64_t h0 = oh * g.stride_h - g.pad_h;
  int64_t w0 = ow * g.stride_w - g.pad_w;
  int64_t h1 = std::min(h0 + g.kernel_h, g.height + g.pad_h);
  int64_t w1 = std::min(w0 + g.kernel_w, g.width + g.pad_w);
  const int64_t padded_area = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0);
  w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, g.height);
  w1 = std::min(w1, g.width);
  const int64_t area = (h1 - h0) * (w1 - w0);
  return {h0, h1, w0, w1, count_include_pad ? padded_area : std::max<int64_t>(area, 1)};
}

}  // namespace

Tensor avg_pool2d_forward(const Tensor& x, const Window2d& g, bool count_include_pad) {
  Tensor y = Tensor::empty({g.batch, g.channels, g.out_h, g.out_w}, x.dtype());
  visit_float(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = AFFINE_T(tag);
    const int64_t planes = g.batch * g.channels;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t c = 0; c < planes; ++c) {
      const T* xc = px + c * g.height * g.width;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const AvgCell cell = avg_cell(g, oh, ow, count_include_pad);
          T s = 0;
          for (int64_t ih = cell.h0; ih < cell.h1; ++ih) {
            for (int64_t iw = cell.w0; iw < cell.w1; ++iw) s += xc[ih * g.width + iw];
          }
          py[(c * g.out_h + oh) * g.out_w + ow] = s / static_cast<T>(cell.divisor);
        }
      }
    }
  });
  return y;
}

Tensor avg_pool2d_backward(const Tensor& dy, const Window2d& g, bool count_include_pad) {
  Tensor dx = Tensor::zeros({g.batch, g.channels, g.height, g.width}, dy.dtype());
  visit_float(dy.dtype(), "avg_pool2d", [&](auto tag) {
    using T = AFFINE_T(tag);
    const int64_t planes = g.batch * g.channels;
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
    for (int64_t c = 0; c < planes; ++c) {
      T* dc = pdx + c * g.height * g.width;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const AvgCell cell = avg_cell(g, oh, ow, count_include_pad);
          const T d = pdy[(c * g.out_h + oh) * g.out_w + ow] / static_cast<T>(cell.divisor);
          for (int64_t ih = cell.h0; ih < cell.h1; ++ih) {
            for (int64_t iw = cell.w0; iw < cell.w1; ++iw) dc[ih * g.width + iw] += d;
          }
        }
      }
    }
  });
  return dx;
}

namespace {

int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
int64_t adaptive_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

// Calls f(input flat index in the plane, output flat index in the plane, 1 / cell size) for
// every (input, output) pair of adaptive average pooling.
template <class F>
void adaptive_cells(int64_t h, int64_t w, int64_t out_h, int64_t out_w, F f) {
  for (int64_t oh = 0; oh < out_h; ++oh) {
    const int64_t h0 = adaptive_start(oh, h, out_h);
    const int64_t h1 = adaptive_end(oh, h, out_h);
    for (int64_t ow = 0; ow < out_w; ++ow) {
      const int64_t w0 = adaptive_start(ow, w, out_w);
      const int64_t w1 = adaptive_end(ow, w, out_w);
      const double inv = 1.0 / static_cast<double>((h1 - h0) * (w1 - w0));
      for (int64_t ih = h0; ih < h1; ++ih) {
        for (int64_t iw = w0; iw < w1; ++iw) f(ih * w + iw, oh * out_w + ow, inv);
      }
    }
  }
}

}  // namespace

Tensor adaptive_avg_pool2d_forward(const Tensor& x, int64_t out_h, int64_t out_w) {
  const Shape& s = x.shape();
  Tensor y = Tensor::zeros({s[0], s[1], out_h, out_w}, x.dtype());
  visit_float(x.dtype(), "adaptive_avg_pool2d", [&](auto tag) {
    using T = AFFINE_T(tag);
    const int64_t planes = s[0] * s[1];
    for (int64_t c = 0; c < planes; ++c) {
      const T* xc = x.data<T>() + c * s[2] * s[3];
      T* yc = y.data<T>() + c * out_h * out_w;
      adaptive_cells(s[2], s[3], out_h, out_w, [&](int64_t in, int64_t out, double inv) {
        yc[out] += xc[in] * static_cast<T>(inv);
      });
    }
  });
  return y;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& input_shape) {
  const Shape& s = input_shape;
  const int64_t out_h = dy.shape()[2];
  const int64_t out_w = dy.shape()[3];
  Tensor dx = Tensor::zeros(s, dy.dtype());
  visit_float(dy.dtype(), "adaptive_avg_pool2d", [&](auto tag) {
    using T = AFFINE_T(tag);
    const int64_t planes = s[0] * s[1];
    for (int64_t c = 0; c < planes; ++c) {
      const T* dyc = dy.data<T>() + c * out_h * out_w;
      T* dxc = dx.data<T>() + c * s[2] * s[3];
      adaptive_cells(s[2], s[3], out_h, out_w, [&](int64_t in, int64_t out, double inv) {
        dxc[in] += dyc[out] * static_cast<T>(inv);
      });
    }
  });
  return dx;
}

}  // namespace affine::detail
