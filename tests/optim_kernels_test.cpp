// The optimizers' update loops (tensor/src/optim_kernels*): every ISA's table gives the same bits
// as the plain per-element formula, for every switch (weight decay, momentum, first step,
// nesterov), in float32 and float64, on a length with vector tails.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "cpu.hpp"
#include "optim_kernels.hpp"

using namespace affine;
using affine::detail::SgdUpdate;

namespace {

// The update as nn/src/optim.cpp wrote it before it moved here: the reference.
template <class T>
void reference(std::vector<T>& w, const std::vector<T>& g, std::vector<T>* b, const SgdUpdate& u) {
  for (size_t k = 0; k < w.size(); ++k) {
    T d = u.weight_decay != 0 ? static_cast<T>(g[k] + u.weight_decay * w[k]) : g[k];
    if (b != nullptr) {
      T& bk = (*b)[k];
      bk = u.first ? d : static_cast<T>(static_cast<T>(u.momentum * bk) + (1 - u.dampening) * d);
      d = u.nesterov ? static_cast<T>(d + u.momentum * bk) : bk;
    }
    w[k] = static_cast<T>(w[k] + (-u.lr) * d);
  }
}

template <class T>
std::vector<T> random_values(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist;
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(dist(gen));
  return v;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

template <class T>
void check_table(const detail::optim_kernels::Table& table, const char* isa) {
  constexpr size_t kN = 1037;  // not a multiple of any vector width
  const auto fn = [&] {
    if constexpr (sizeof(T) == 4) {
      return table.sgd_f32;
    } else {
      return table.sgd_f64;
    }
  }();
  int cases = 0;
  for (const bool decay : {false, true}) {
    for (const bool momentum : {false, true}) {
      for (const bool first : {false, true}) {
        for (const bool nesterov : {false, true}) {
          if (!momentum && (first || nesterov)) continue;  // meaningless without a buffer
          const SgdUpdate u{.lr = 0.037,
                            .weight_decay = decay ? 0.013 : 0.0,
                            .momentum = momentum ? 0.9 : 0.0,
                            .dampening = 0.1,
                            .nesterov = nesterov,
                            .first = first};
          const auto g = random_values<T>(kN, 2);
          auto w_want = random_values<T>(kN, 1), w_got = w_want;
          auto b_want = random_values<T>(kN, 3), b_got = b_want;
          reference<T>(w_want, g, momentum ? &b_want : nullptr, u);
          fn(w_got.data(), g.data(), momentum ? b_got.data() : nullptr, static_cast<int64_t>(kN),
             u);
          EXPECT_TRUE(same_bits(w_got, w_want))
              << isa << " decay " << decay << " momentum " << momentum << " first " << first
              << " nesterov " << nesterov;
          EXPECT_TRUE(same_bits(b_got, b_want)) << isa;
          EXPECT_FALSE(same_bits(w_got, random_values<T>(kN, 1)));  // it did update
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 10);
}

template <class T>
void check_every_isa() {
  check_table<T>(detail::optim_kernels::table_generic(), "generic");
#if defined(__x86_64__) || defined(_M_X64)
  if (detail::cpu_supports(Isa::avx2)) check_table<T>(detail::optim_kernels::table_avx2(), "avx2");
  if (detail::cpu_supports(Isa::avx512)) {
    check_table<T>(detail::optim_kernels::table_avx512(), "avx512");
  }
#endif
  // The entry point nn calls goes through the active ISA's table.
  auto w = random_values<T>(100, 4), want = w;
  const auto g = random_values<T>(100, 5);
  const SgdUpdate u{.lr = 0.5};
  reference<T>(want, g, nullptr, u);
  detail::sgd_update(w.data(), g.data(), nullptr, 100, u);
  EXPECT_TRUE(same_bits(w, want));
}

}  // namespace

TEST(OptimKernels, SgdIsBitIdenticalOnEveryIsaFloat32) { check_every_isa<float>(); }
TEST(OptimKernels, SgdIsBitIdenticalOnEveryIsaFloat64) { check_every_isa<double>(); }
