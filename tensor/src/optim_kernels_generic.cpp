// The optimizer update loops (optim_kernels_impl.hpp) at the baseline ISA, the dispatcher (this
// file is compiled for every target) and the entry points of affine/tensor/internal/.
#include "affine/tensor/parallel.hpp"
#include "isa_table.hpp"
#include "optim_kernels.hpp"
#include "optim_kernels_impl.hpp"

namespace affine::detail {
namespace optim_kernels {

const Table& table_generic() {
  static constexpr Table t = make_table();
  return t;
}

const Table& active() {
  static const Table& t = AFFINE_ACTIVE_ISA_TABLE(table_);
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
