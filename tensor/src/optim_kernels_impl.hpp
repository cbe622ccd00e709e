// Internal: the optimizer update loops, included once per ISA file (optim_kernels.hpp). Everything
// here has internal linkage, so each ISA's instantiations stay its own.
#pragma once

#include <cstdint>
#include <type_traits>

#include "optim_kernels.hpp"

namespace affine::detail::optim_kernels {
namespace {

// Calls f(std::bool_constant<flags>...): the run-time switches become template arguments, so the
// loop below has no tests left per element and the compiler vectorises it.
template <class F>
void with_bools(F&& f) {
  f();
}
template <class F, class... Rest>
void with_bools(F&& f, bool first, Rest... rest) {
  if (first) {
    with_bools([&](auto... c) { f(std::true_type{}, c...); }, rest...);
  } else {
    with_bools([&](auto... c) { f(std::false_type{}, c...); }, rest...);
  }
}

template <class T, bool kDecay, bool kMomentum, bool kFirst, bool kNesterov>
void sgd_loop(T* w, const T* g, T* b, int64_t n, const SgdUpdate& u) noexcept {
  const double lr = u.lr, wd = u.weight_decay, mom = u.momentum, damp = u.dampening;
  for (int64_t k = 0; k < n; ++k) {
    T d = g[k];
    if constexpr (kDecay) d = static_cast<T>(g[k] + wd * w[k]);
    if constexpr (kMomentum) {
      b[k] = kFirst ? d : static_cast<T>(static_cast<T>(mom * b[k]) + (1 - damp) * d);
      d = kNesterov ? static_cast<T>(d + mom * b[k]) : b[k];
    }
    w[k] = static_cast<T>(w[k] + (-lr) * d);
  }
}

template <class T>
void sgd(T* w, const T* g, T* b, int64_t n, const SgdUpdate& u) noexcept {
  with_bools(
      [&](auto decay, auto momentum, auto first, auto nesterov) {
        sgd_loop<T, decay(), momentum(), first(), nesterov()>(w, g, b, n, u);
      },
      u.weight_decay != 0, b != nullptr, u.first, u.nesterov);
}

constexpr Table make_table() { return Table{&sgd<float>, &sgd<double>}; }

}  // namespace
}  // namespace affine::detail::optim_kernels
