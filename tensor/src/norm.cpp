// Layer and batch normalisation and the dropout mask (see nn_kernels.hpp). Statistics are
// accumulated in double for both dtypes, so float32 rows of any length keep their precision.
#include <cmath>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/nn_kernels.hpp"
#include "affine/tensor/random.hpp"

namespace affine::detail {

Tensor layer_norm_forward(const Tensor& x, int64_t m, const Tensor& weight, const Tensor& bias,
                          double eps, Tensor& stats) {
  const int64_t rows = m == 0 ? 0 : x.numel() / m;
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  stats = Tensor::empty({rows, 2}, x.dtype());
  visit_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* px = x.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    T* py = y.data<T>();
    T* ps = stats.data<T>();
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = px + r * m;
      double sum = 0;
      for (int64_t i = 0; i < m; ++i) sum += static_cast<double>(xr[i]);
      const double mean = sum / static_cast<double>(m);
      double sq = 0;
      for (int64_t i = 0; i < m; ++i) {
        const double d = static_cast<double>(xr[i]) - mean;
        sq += d * d;
      }
      const double rstd = 1 / std::sqrt(sq / static_cast<double>(m) + eps);
      T* yr = py + r * m;
      for (int64_t i = 0; i < m; ++i) {
        double v = (static_cast<double>(xr[i]) - mean) * rstd;
        if (pw != nullptr) v *= static_cast<double>(pw[i]);
        if (pb != nullptr) v += static_cast<double>(pb[i]);
        yr[i] = static_cast<T>(v);
      }
      ps[2 * r] = static_cast<T>(mean);
      ps[2 * r + 1] = static_cast<T>(rstd);
    }
  });
  return y;
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, int64_t m, const Tensor& weight,
                         const Tensor& stats, Tensor* dx, Tensor* dweight, Tensor* dbias) {
  const int64_t rows = m == 0 ? 0 : x.numel() / m;
  if (dx != nullptr) *dx = Tensor::empty(x.shape(), x.dtype());
  visit_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* px = x.data<T>();
    const T* pg = dy.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    const T* ps = stats.data<T>();
    T* pdw = dweight != nullptr ? dweight->data<T>() : nullptr;
    T* pdb = dbias != nullptr ? dbias->data<T>() : nullptr;
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = px + r * m;
      const T* gr = pg + r * m;
      const double mean = static_cast<double>(ps[2 * r]);
      const double rstd = static_cast<double>(ps[2 * r + 1]);
      // With xhat = (x - mean) rstd and gh = dy * weight:
      //   dx = rstd (gh - mean(gh) - xhat mean(gh xhat)).
      double sum_gh = 0;
      double sum_ghx = 0;
      for (int64_t i = 0; i < m; ++i) {
        const double xhat = (static_cast<double>(xr[i]) - mean) * rstd;
        const double gh =
            static_cast<double>(gr[i]) * (pw != nullptr ? static_cast<double>(pw[i]) : 1.0);
        sum_gh += gh;
        sum_ghx += gh * xhat;
        if (pdw != nullptr) pdw[i] += static_cast<T>(static_cast<double>(gr[i]) * xhat);
        if (pdb != nullptr) pdb[i] += gr[i];
      }
      if (dx == nullptr) continue;
      const double mean_gh = sum_gh / static_cast<double>(m);
      const double mean_ghx = sum_ghx / static_cast<double>(m);
      T* dr = dx->data<T>() + r * m;
      for (int64_t i = 0; i < m; ++i) {
        const double xhat = (static_cast<double>(xr[i]) - mean) * rstd;
        const double gh =
            static_cast<double>(gr[i]) * (pw != nullptr ? static_cast<double>(pw[i]) : 1.0);
        dr[i] = static_cast<T>(rstd * (gh - mean_gh - xhat * mean_ghx));
      }
    }
  });
}

namespace {

// x [N, C, S] as (n, c, s) -> n * C * S + c * S + s.
struct ChannelLayout {
  int64_t n, c, s;
};

ChannelLayout channel_layout(const Tensor& x) {
  const Shape& sh = x.shape();
  int64_t s = 1;
  for (int d = 2; d < sh.size(); ++d) s *= sh[d];
  return {sh[0], sh[1], s};
}

}  // namespace

Tensor batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                          Tensor& running_mean, Tensor& running_var, bool batch_stats,
                          double momentum, double eps, Tensor& stats) {
  const ChannelLayout L = channel_layout(x);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  stats = Tensor::empty({L.c, 2}, x.dtype());
  const double count = static_cast<double>(L.n * L.s);
  visit_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* px = x.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    T* prm = running_mean.defined() ? running_mean.data<T>() : nullptr;
    T* prv = running_var.defined() ? running_var.data<T>() : nullptr;
    T* py = y.data<T>();
    T* ps = stats.data<T>();
    for (int64_t c = 0; c < L.c; ++c) {
      double mean = 0;
      double var = 0;
      if (batch_stats) {
        double sum = 0;
        for (int64_t n = 0; n < L.n; ++n) {
          const T* xs = px + (n * L.c + c) * L.s;
          for (int64_t s = 0; s < L.s; ++s) sum += static_cast<double>(xs[s]);
        }
        mean = sum / count;
        double sq = 0;
        for (int64_t n = 0; n < L.n; ++n) {
          const T* xs = px + (n * L.c + c) * L.s;
          for (int64_t s = 0; s < L.s; ++s) {
            const double d = static_cast<double>(xs[s]) - mean;
            sq += d * d;
          }
        }
        var = sq / count;
        if (prm != nullptr) {
          prm[c] = static_cast<T>((1 - momentum) * static_cast<double>(prm[c]) + momentum * mean);
        }
        if (prv != nullptr) {
          const double unbiased = count > 1 ? sq / (count - 1) : var;
          prv[c] =
              static_cast<T>((1 - momentum) * static_cast<double>(prv[c]) + momentum * unbiased);
        }
      } else {
        mean = static_cast<double>(prm[c]);
        var = static_cast<double>(prv[c]);
      }
      const double rstd = 1 / std::sqrt(var + eps);
      const double scale = rstd * (pw != nullptr ? static_cast<double>(pw[c]) : 1.0);
      const double shift = (pb != nullptr ? static_cast<double>(pb[c]) : 0.0) - mean * scale;
      for (int64_t n = 0; n < L.n; ++n) {
        const T* xs = px + (n * L.c + c) * L.s;
        T* ys = py + (n * L.c + c) * L.s;
        for (int64_t s = 0; s < L.s; ++s) {
          ys[s] = static_cast<T>(static_cast<double>(xs[s]) * scale + shift);
        }
      }
      ps[2 * c] = static_cast<T>(mean);
      ps[2 * c + 1] = static_cast<T>(rstd);
    }
  });
  return y;
}

void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                         const Tensor& stats, bool batch_stats, Tensor* dx, Tensor* dweight,
                         Tensor* dbias) {
  const ChannelLayout L = channel_layout(x);
  const double count = static_cast<double>(L.n * L.s);
  if (dx != nullptr) *dx = Tensor::empty(x.shape(), x.dtype());
  visit_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* px = x.data<T>();
    const T* pg = dy.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    const T* ps = stats.data<T>();
    for (int64_t c = 0; c < L.c; ++c) {
      const double mean = static_cast<double>(ps[2 * c]);
      const double rstd = static_cast<double>(ps[2 * c + 1]);
      double sum_g = 0;
      double sum_gx = 0;
      for (int64_t n = 0; n < L.n; ++n) {
        const T* xs = px + (n * L.c + c) * L.s;
        const T* gs = pg + (n * L.c + c) * L.s;
        for (int64_t s = 0; s < L.s; ++s) {
          sum_g += static_cast<double>(gs[s]);
          sum_gx += static_cast<double>(gs[s]) * (static_cast<double>(xs[s]) - mean) * rstd;
        }
      }
      if (dweight != nullptr) dweight->data<T>()[c] += static_cast<T>(sum_gx);
      if (dbias != nullptr) dbias->data<T>()[c] += static_cast<T>(sum_g);
      if (dx == nullptr) continue;
      const double w = pw != nullptr ? static_cast<double>(pw[c]) : 1.0;
      // Batch statistics: dx = w rstd (dy - mean(dy) - xhat mean(dy xhat)); running ones are
      // constants: dx = w rstd dy.
      const double mean_g = batch_stats ? sum_g / count : 0.0;
      const double mean_gx = batch_stats ? sum_gx / count : 0.0;
      for (int64_t n = 0; n < L.n; ++n) {
        const T* xs = px + (n * L.c + c) * L.s;
        const T* gs = pg + (n * L.c + c) * L.s;
        T* ds = dx->data<T>() + (n * L.c + c) * L.s;
        for (int64_t s = 0; s < L.s; ++s) {
          const double xhat = (static_cast<double>(xs[s]) - mean) * rstd;
          ds[s] = static_cast<T>(w * rstd * (static_cast<double>(gs[s]) - mean_g - xhat * mean_gx));
        }
      }
    }
  });
}

Tensor dropout_mask(const Shape& shape, DType dtype, double p, Generator& gen) {
  Tensor mask = Tensor::empty(shape, dtype);
  const double keep_scale = 1 / (1 - p);
  visit_float(dtype, "dropout", [&](auto tag) {
    using T = AFFINE_T(tag);
    T* pm = mask.data<T>();
    for (int64_t i = 0; i < mask.numel(); ++i) {
      pm[i] = gen.uniform() < p ? T(0) : static_cast<T>(keep_scale);
    }
  });
  return mask;
}

}  // namespace affine::detail
