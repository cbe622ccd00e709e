// matmul: 2-D and batched 3-D products on the fast GEMM, and matmul_reference, the test oracle.
//
// Views are handed to gemm_strided() by (row stride, column stride), so a transposed, sliced or
// expanded operand costs no copy; that is what lets the backward pass form dY * W^T and X^T * dY
// directly. A batch is one gemm_strided() call per matrix: a batch of 1 (or a 2-D operand)
// broadcasts by batch stride 0.
#include <cstdint>
#include <string>

#include "affine/tensor/gemm.hpp"
#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/ops.hpp"

namespace affine {
namespace {

// Sizes and strides of one product, in elements. Batch strides are 0 for a shared operand.
struct Product {
  int64_t batch = 1, m = 0, n = 0, k = 0;
  int64_t sa_b = 0, sa_r = 0, sa_c = 0;
  int64_t sb_b = 0, sb_r = 0, sb_c = 0;
  Shape out_shape;
};

[[noreturn]] void bad_shapes(const char* op, const Tensor& a, const Tensor& b,
                             const std::string& why) {
  throw Error(std::string(op) + ": shapes " + to_string(a.shape()) + " and " +
              to_string(b.shape()) + " cannot be multiplied (" + why + ")");
}

Product plan(const char* op, const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined()) {
    throw Error(std::string(op) + ": " + (a.defined() ? "second" : "first") +
                " operand is an undefined tensor");
  }
  if (a.dtype() != b.dtype()) {
    throw Error(std::string(op) + ": dtypes " + std::string(dtype_name(a.dtype())) + " and " +
                std::string(dtype_name(b.dtype())) + " differ (convert with Tensor::to)");
  }
  const int ra = a.rank(), rb = b.rank();
  if (ra < 2 || ra > 3 || rb < 2 || rb > 3) {
    bad_shapes(op, a, b, "operands must be 2-D or 3-D");
  }
  Product p;
  p.m = a.size(-2);
  p.k = a.size(-1);
  p.n = b.size(-1);
  if (b.size(-2) != p.k) {
    bad_shapes(op, a, b,
               "inner dimensions " + std::to_string(p.k) + " and " + std::to_string(b.size(-2)) +
                   " differ");
  }
  const int64_t ba = ra == 3 ? a.size(0) : 1;
  const int64_t bb = rb == 3 ? b.size(0) : 1;
  if (ba != bb && ba != 1 && bb != 1) {
    bad_shapes(op, a, b,
               "batch dimensions " + std::to_string(ba) + " and " + std::to_string(bb) + " differ");
  }
  p.batch = ba == 1 ? bb : ba;
  p.sa_r = a.strides()[ra - 2];
  p.sa_c = a.strides()[ra - 1];
  p.sb_r = b.strides()[rb - 2];
  p.sb_c = b.strides()[rb - 1];
  p.sa_b = ba == 1 ? 0 : a.strides()[0];
  p.sb_b = bb == 1 ? 0 : b.strides()[0];
  if (ra == 3 || rb == 3) p.out_shape.push_back(p.batch);
  p.out_shape.push_back(p.m);
  p.out_shape.push_back(p.n);
  return p;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  const char* op = "matmul";
  const Product p = plan(op, a, b);
  Tensor out = Tensor::empty(p.out_shape, a.dtype());
  detail::visit_float(a.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    if (out.numel() == 0) return;
    T* c = out.data<T>();
    if (p.k == 0) {
      // An empty sum; done here so no pointer into an empty operand is ever formed.
      for (int64_t i = 0; i < out.numel(); ++i) c[i] = T(0);
      return;
    }
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    for (int64_t i = 0; i < p.batch; ++i) {
      gemm_strided(p.m, p.n, p.k, T(1), pa + i * p.sa_b, p.sa_r, p.sa_c, pb + i * p.sb_b, p.sb_r,
                   p.sb_c, T(0), c + i * p.m * p.n, p.n, 1);
    }
  });
  return out;
}

Tensor matmul_reference(const Tensor& a, const Tensor& b) {
  const char* op = "matmul_reference";
  const Product p = plan(op, a, b);
  Tensor out = Tensor::empty(p.out_shape, a.dtype());
  detail::visit_float(a.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    if (out.numel() == 0) return;
    T* c = out.data<T>();
    const T* pa = p.k > 0 ? a.data<T>() : nullptr;
    const T* pb = p.k > 0 ? b.data<T>() : nullptr;
    for (int64_t bt = 0; bt < p.batch; ++bt) {
      for (int64_t i = 0; i < p.m; ++i) {
        for (int64_t j = 0; j < p.n; ++j) {
          double acc = 0.0;
          for (int64_t q = 0; q < p.k; ++q) {
            acc += static_cast<double>(pa[bt * p.sa_b + i * p.sa_r + q * p.sa_c]) *
                   static_cast<double>(pb[bt * p.sb_b + q * p.sb_r + j * p.sb_c]);
          }
          c[(bt * p.m + i) * p.n + j] = static_cast<T>(acc);
        }
      }
    }
  });
  return out;
}

}  // namespace affine
