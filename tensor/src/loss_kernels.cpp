// The elementwise binary cross-entropy of autograd's binary_cross_entropy (nn_kernels.hpp).
//
// float32 takes its two logarithms from vmath a block at a time: one scalar logf call per log
// was most of the loss's cost in a training step (2,000 calls at batch 1,000).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/nn_kernels.hpp"
#include "vmath.hpp"

namespace affine::detail {

namespace {

template <class T>
T bce_term(T y, T log_p, T log_q) {
  // PyTorch's BCELoss clamps each log at -100, so p = 0 or 1 gives a finite loss.
  return -(y * std::max(log_p, T(-100)) + (1 - y) * std::max(log_q, T(-100)));
}

}  // namespace

Tensor binary_cross_entropy_forward(const Tensor& p, const Tensor& y) {
  const Tensor pc = p.contiguous();
  const Tensor yc = y.contiguous();
  Tensor out = Tensor::empty(p.shape(), p.dtype());
  const int64_t n = p.numel();
  visit_float(p.dtype(), "binary_cross_entropy", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* pp = pc.data<T>();
    const T* py = yc.data<T>();
    T* po = out.data<T>();
    if constexpr (std::is_same_v<T, float>) {
      constexpr int64_t kBlock = 256;
      float log_p[kBlock];
      float log_q[kBlock];
      const auto& vm = vmath::active();
      for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
        const int64_t m = std::min(kBlock, n - i0);
        for (int64_t i = 0; i < m; ++i) log_q[i] = 1.0f - pp[i0 + i];
        vm.log(pp + i0, log_p, m);
        vm.log(log_q, log_q, m);
        for (int64_t i = 0; i < m; ++i) po[i0 + i] = bce_term(py[i0 + i], log_p[i], log_q[i]);
      }
    } else {
      for (int64_t i = 0; i < n; ++i) {
        po[i] = bce_term(py[i], std::log(pp[i]), std::log(1 - pp[i]));
      }
    }
  });
  return out;
}

}  // namespace affine::detail
