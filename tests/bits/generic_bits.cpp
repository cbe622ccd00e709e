// Prints a hash of the exact bits the kernels produce on fixed inputs: GEMM (every path: small,
// skinny, packed; both dtypes; alpha/beta) and the vector math (exp, log, log1p, tanh, sigmoid),
// at the ISA chosen by AFFINE_ISA. scripts/test.sh builds it with g++ and with clang++ and
// requires identical output per ISA, and identical to tests/bits/generic_golden.txt for the
// portable kernels (AFFINE_ISA=generic), which promise the same bits on every machine.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "affine/affine.hpp"

namespace {

// FNV-1a over the bytes of the values.
template <class T>
uint64_t hash_bits(const std::vector<T>& v) {
  uint64_t h = 1469598103934665603ULL;
  for (const T& x : v) {
    unsigned char b[sizeof(T)];
    std::memcpy(b, &x, sizeof(T));
    for (unsigned char c : b) h = (h ^ c) * 1099511628211ULL;
  }
  return h;
}

template <class T>
void gemm_case(int64_t m, int64_t n, int64_t k, double alpha, double beta) {
  affine::Generator gen(1000 * m + 10 * n + k);
  const affine::DType dt = sizeof(T) == 4 ? affine::DType::f32 : affine::DType::f64;
  const std::vector<T> a = affine::Tensor::randn({m, k}, gen, dt).to_vector<T>();
  const std::vector<T> b = affine::Tensor::randn({k, n}, gen, dt).to_vector<T>();
  std::vector<T> c = affine::Tensor::randn({m, n}, gen, dt).to_vector<T>();
  affine::gemm(affine::Trans::no, affine::Trans::no, m, n, k, static_cast<T>(alpha), a.data(), k,
               b.data(), n, static_cast<T>(beta), c.data(), n);
  std::printf("gemm %s %lldx%lldx%lld alpha %g beta %g: %016llx\n", sizeof(T) == 4 ? "f32" : "f64",
              static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k),
              alpha, beta, static_cast<unsigned long long>(hash_bits(c)));
}

void vmath_case(const char* name, affine::Tensor (*fn)(const affine::Tensor&), double lo,
                double hi) {
  for (affine::DType dt : {affine::DType::f32, affine::DType::f64}) {
    const affine::Tensor x = affine::Tensor::linspace(lo, hi, 10007, dt);
    const affine::Tensor y = fn(x);
    const uint64_t h = dt == affine::DType::f32 ? hash_bits(y.to_vector<float>())
                                                : hash_bits(y.to_vector<double>());
    std::printf("%s %s [%g, %g]: %016llx\n", name, dt == affine::DType::f32 ? "f32" : "f64", lo, hi,
                static_cast<unsigned long long>(h));
  }
}

}  // namespace

int main() {
  for (const auto& [m, n, k] : std::vector<std::array<int64_t, 3>>{{1, 1, 1},
                                                                   {3, 5, 2},
                                                                   {32, 100, 2},
                                                                   {100, 2, 100},
                                                                   {1000, 1, 2},
                                                                   {67, 45, 300},
                                                                   {129, 257, 65}}) {
    gemm_case<float>(m, n, k, 1, 0);
    gemm_case<float>(m, n, k, -0.5, 0.25);
    gemm_case<double>(m, n, k, 1.5, 1);
  }
  vmath_case("exp", affine::exp, -100, 90);
  vmath_case("log", affine::log, 1e-30, 1e30);
  vmath_case("log1p", affine::log1p, -0.999, 1e6);
  vmath_case("tanh", affine::tanh, -20, 20);
  vmath_case("sigmoid", affine::sigmoid, -50, 50);
  return 0;
}
