// Reproducibility: every value here must be bit-identical on every machine and compiler. The
// integer parts are exact by construction; the floating parts use only +, -, *, / and sqrt, which
// IEEE 754 rounds correctly, provided the compiler does not fuse a*b+c into one FMA (which rounds
// once instead of twice and so changes results on FMA-capable targets, e.g. with -march=native or
// on AArch64). Contraction is therefore switched off for this file, for both compilers; the golden
// values in tests/random_test.cpp catch any regression. std::log is not used: libm
// implementations differ in the last bit, so the polar method uses portable_log below.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "affine/tensor/random.hpp"

#include <cmath>
#include <string>

#include "affine/tensor/error.hpp"

namespace affine {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Natural log of a finite x > 0 from basic IEEE operations only, so it gives the same bits
// everywhere (libm's log may differ in the last ulp between platforms). x = m * 2^e with m in
// [sqrt(1/2), sqrt(2)); log(m) = 2 atanh(z), z = (m - 1) / (m + 1), |z| <= 0.1716, whose odd
// series with a fixed 13 terms converges below 1e-19 relative. Accurate to about 1 ulp.
double portable_log(double x) {
  int e = 0;
  double m = std::frexp(x, &e);  // exact: m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m = m * 2.0;  // exact
    e -= 1;
  }
  const double z = (m - 1.0) / (m + 1.0);
  const double z2 = z * z;
  // Horner over 1/(2k+1), k = 12 down to 0.
  double p = 1.0 / 25.0;
  for (int k = 11; k >= 0; --k) {
    const double term = p * z2;
    p = term + 1.0 / static_cast<double>(2 * k + 1);
  }
  const double log_m = 2.0 * z * p;
  // ln 2 split as in fdlibm: ln2_hi has its low bits zero, so e * ln2_hi is exact.
  constexpr double ln2_hi = 6.93147180369123816490e-01;
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  const double de = static_cast<double>(e);
  const double lo = de * ln2_lo;
  const double hi = de * ln2_hi;
  return hi + (log_m + lo);
}

}  // namespace

Generator& default_generator() {
  static Generator gen(kDefaultSeed);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator() = Generator(seed); }

Generator::Generator(uint64_t seed) {
  uint64_t x = seed;
  for (auto& w : s_) w = splitmix64(x);
  // SplitMix64 is a bijection of its counter, so the four words are never all zero (the one state
  // xoshiro cannot leave).
}

uint64_t Generator::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Generator::uniform() {
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;  // exact: 53 bits fit a double
}

double Generator::uniform(double low, double high) {
  const double width = high - low;
  const double scaled = width * uniform();
  const double v = low + scaled;
  // Rounding can land exactly on high; keep the interval half-open as documented.
  if (v >= high && high > low) return std::nextafter(high, low);
  return v;
}

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_normal_;
  }
  double u = 0, v = 0, s = 0;
  do {
    u = 2.0 * uniform() - 1.0;  // exact: uniform() has 53 bits, so 2u - 1 is representable
    v = 2.0 * uniform() - 1.0;
    const double uu = u * u;
    const double vv = v * v;
    s = uu + vv;
  } while (s >= 1.0 || s == 0.0);
  const double ratio = (-2.0 * portable_log(s)) / s;
  const double m = std::sqrt(ratio);  // IEEE 754 requires sqrt to be correctly rounded
  spare_normal_ = v * m;
  has_spare_ = true;
  return u * m;
}

double Generator::normal(double mean, double stddev) {
  const double z = normal();
  const double scaled = stddev * z;
  return mean + scaled;
}

uint64_t Generator::below(uint64_t n) {
  if (n == 0) throw Error("Generator::below: n must be >= 1 (got 0)");
  // Reject the lowest 2^64 mod n draws so every residue is equally likely.
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t r = next_u64();
    if (r >= threshold) return r % n;
  }
}

}  // namespace affine
