// The optimizer update loops (optim_kernels_impl.hpp) at the baseline ISA, the dispatcher (this
// file is compiled for every target) and the entry points of affine/tensor/internal/.
#include "affine/tensor/parallel.hpp"
#include "optim_kernels.hpp"
#include "optim_kernels_impl.hpp"

namespace affine::detail {
namespace optim_kernels {

const Table& table_generic() {
  static constexpr Table t = make_table();
  return t;
}

const Table& active() {
  static const Table& t = []() -> const Table& {
#if defined(__x86_64__) || defined(_M_X64)
    switch (active_isa()) {
      case Isa::avx512:
        return table_avx512();
      case Isa::avx2:
        return table_avx2();
      case Isa::generic:
        break;
    }
#endif
    return table_generic();
  }();
  return t;
}

}  // namespace optim_kernels

void sgd_update(float* w, const float* g, float* buf, int64_t n, const SgdUpdate& u) noexcept {
  optim_kernels::active().sgd_f32(w, g, buf, n, u);
}

void sgd_update(double* w, const double* g, double* buf, int64_t n, const SgdUpdate& u) noexcept {
  optim_kernels::active().sgd_f64(w, g, buf, n, u);
}

}  // namespace affine::detail
