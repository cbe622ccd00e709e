// The no-packing path for small and skinny products (k tiny, m or n tiny, or m*n*k tiny): the
// shapes of a small MLP's layers, where packing would cost as much as the arithmetic.
//
// Two kernels (kernel.hpp) and the transpose identity C^T = B^T * A^T give four plans; a cost
// model in SIMD operations picks the cheapest. The choice depends only on shapes and strides,
// never on the thread count, so results stay bit-identical across thread counts.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "affine/tensor/error.hpp"
#include "affine/tensor/parallel.hpp"
#include "cpu.hpp"
#include "kernel.hpp"
#include "parallel_for.hpp"
#include "parallel_threshold.hpp"

namespace affine::detail::gemm {
namespace {

// Skinny: a dimension this small wastes most of a packed micro-tile.
constexpr int64_t kSkinny = 4;
constexpr int64_t kTinyK = 8;
// The cost of a horizontal sum (dot plan) and of a scalar copy, in half vector FMAs: integers,
// as the plan is chosen on every call and the smallest calls take ~20 ns.
constexpr int64_t kFmaCost = 2;
constexpr int64_t kHsumCost = 8;
constexpr int64_t kScalarCost = 1;

// One operand problem description, so the transposed plans are just a swap.
template <class T>
struct Problem {
  int64_t m, n, k;
  const T* a;
  int64_t rs_a, cs_a;
  const T* b;
  int64_t rs_b, cs_b;
  T* c;
  int64_t rs_c, cs_c;

  Problem transposed() const {  // C^T = B^T A^T
    return {n, m, k, b, cs_b, rs_b, a, cs_a, rs_a, c, cs_c, rs_c};
  }
};

// Vectors of 2^w_shift lanes that hold n elements: a shift, not a division (this runs per call,
// and the smallest calls take a fraction of a microsecond).
int64_t vectors(int64_t n, int w_shift) { return (n + (int64_t{1} << w_shift) - 1) >> w_shift; }

template <class T>
int64_t cost_rowbcast(const Problem<T>& p, int w_shift) {
  int64_t cost = kFmaCost * p.m * vectors(p.n, w_shift) * p.k;
  if (p.cs_b != 1) cost += kScalarCost * p.k * p.n;  // pack B rows
  if (p.cs_c != 1) cost += kScalarCost * p.m * p.n;  // scalar stores
  return cost;
}

template <class T>
int64_t cost_dot(const Problem<T>& p, int w_shift) {
  if (p.cs_a != 1) return std::numeric_limits<int64_t>::max();
  int64_t cost = p.m * p.n * (kFmaCost * vectors(p.k, w_shift) + kHsumCost);
  if (p.rs_b != 1) cost += kScalarCost * p.k * p.n;  // pack B columns
  return cost;
}

// Row blocks for threads: a multiple of 24 rows (every tile height divides it) per task.
// One fork-join; unless worth_threads, one thread does everything. Each thread reads its rows of
// A and C and all of B: p's m x k, m x n and k x n elements.
template <class T, class F>
void over_rows(const Problem<T>& p, int64_t work, const F& fn) {
  const int64_t m = p.m;
  // One thread set: no question to ask (worth_threads is a call and a thread-local lookup, a few
  // percent of the smallest products).
  const int threads = num_threads();
  if (threads <= 1 || !worth_threads<T>(work, 1, p.m * p.k + p.m * p.n, p.k * p.n)) {
    fn(int64_t{0}, m);  // the tiny products: no task arithmetic (divisions) for one task
    return;
  }
  const int64_t blocks = (m + 23) / 24;
  const int64_t tasks = std::min<int64_t>(blocks, 4 * threads);
  parallel_for(tasks, threads, [&](int64_t t) {
    const int64_t r0 = blocks * t / tasks * 24, r1 = std::min(m, blocks * (t + 1) / tasks * 24);
    if (r1 > r0) fn(r0, r1);
  });
}

template <class T>
void run_rowbcast(const Kernels<T>& kern, const Problem<T>& p, T alpha, T beta) {
  const T* b = p.b;
  int64_t rs_b = p.rs_b;
  if (p.cs_b != 1) {  // copy B (k x n, small by choice of plan) into contiguous rows
    T* buf = static_cast<T*>(scratch(kScratchSmall, p.k * p.n * int64_t{sizeof(T)}));
    if (p.rs_b == 1) {  // B^T stored: a transpose
      kern.transpose(p.n, p.k, p.b, p.cs_b, buf, p.n);
    } else {
      for (int64_t q = 0; q < p.k; ++q)
        for (int64_t j = 0; j < p.n; ++j) buf[q * p.n + j] = p.b[q * p.rs_b + j * p.cs_b];
    }
    b = buf;
    rs_b = p.n;
  }
  over_rows<T>(p, p.m * p.n * std::max<int64_t>(p.k, kTinyK), [&](int64_t r0, int64_t r1) {
    kern.rowbcast(r1 - r0, p.n, p.k, alpha, p.a + r0 * p.rs_a, p.rs_a, p.cs_a, b, rs_b, beta,
                  p.c + r0 * p.rs_c, p.rs_c, p.cs_c);
  });
}

template <class T>
void run_dot(const Kernels<T>& kern, const Problem<T>& p, T alpha, T beta) {
  const T* b = p.b;
  int64_t cs_b = p.cs_b;
  if (p.rs_b != 1) {  // copy B's columns (n small by choice of plan) into contiguous rows
    T* buf = static_cast<T*>(scratch(kScratchSmall, p.k * p.n * int64_t{sizeof(T)}));
    if (p.cs_b == 1) {  // B stored by rows: a transpose
      kern.transpose(p.k, p.n, p.b, p.rs_b, buf, p.k);
    } else {
      for (int64_t j = 0; j < p.n; ++j)
        for (int64_t q = 0; q < p.k; ++q) buf[j * p.k + q] = p.b[q * p.rs_b + j * p.cs_b];
    }
    b = buf;
    cs_b = p.k;
  }
  over_rows<T>(p, p.m * p.n * p.k, [&](int64_t r0, int64_t r1) {
    kern.dot(r1 - r0, p.n, p.k, alpha, p.a + r0 * p.rs_a, p.rs_a, b, cs_b, beta, p.c + r0 * p.rs_c,
             p.rs_c, p.cs_c);
  });
}

}  // namespace

// The unpacked kernels re-read B (k x n) for every block of rows of A: free while B stays in L2,
// and then packing is pure overhead (plus padded edge tiles). Measured on Zen 4 (1 MiB L2,
// AVX-512) the unpacked rowbcast kernel beat pack + micro-kernel up to ~256^3, so cubes whose B
// takes a quarter of this CPU's L2 bound the work of this path. A B stored transposed is laid out
// first by the vectorised block transpose (kern.transpose): that costs about what the packed path
// pays to pack B, and the packed path packs A too, so such a B gets the same bound. Measured on
// Zen 5 (1 MiB L2), nt cubes of 192 to 256 ran 5-7% faster through the copy and the unpacked
// kernel than packed, and skinny deep ones far more (1000x100x100 nt 1.33x, 64x2048x64 1.43x);
// the limit, 160^3 from a Zen 4 measurement with an older copy, had sent them to the packed
// path. A C whose rows are not contiguous (scalar stores) or a B with no unit stride (copied
// element by element) keeps the smaller bound: B a tenth of L2.
//
// The crossover is not a function of the cache sizes: with the same 1 MiB L2, Zen 4 put it at
// 256^3 and Zen 5 at ~640^3; Zen 1 (512 KiB L2, where the rule gives 181^3) at ~350^3. So the
// rule is only the default: AFFINE_GEMM_SMALL_MAX=s (the float32 cube side; float64 takes the cube
// whose B has as many bytes) replaces it, and affine-gemm-tune measures s on the machine at hand.
// Like the blocking, it is never chosen by timing inside a process: the path decides the order
// in which each element's products are summed, so the bits would change from run to run.
template <class T>
struct SmallPath {
  const Kernels<T>* kern;
  int w_shift;  ///< log2 of the kernels' SIMD width (a power of 2)
  int64_t max_work_contiguous, max_work_copying;
};

namespace {

constexpr int64_t kMaxSmallSide = 4096;

// The float32 cube side in AFFINE_GEMM_SMALL_MAX, or 0 when it is unset or empty. Throws naming
// the variable and its value when it is not one integer in [1, kMaxSmallSide].
int64_t requested_small_side() {
  const char* env = std::getenv("AFFINE_GEMM_SMALL_MAX");
  if (env == nullptr || *env == '\0') return 0;
  const std::string_view text(env);
  int64_t side = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), side);
  if (ec != std::errc() || end != text.data() + text.size() || side < 1 || side > kMaxSmallSide)
    throw Error("AFFINE_GEMM_SMALL_MAX=\"" + std::string(text) +
                "\": expected one integer in [1, " + std::to_string(kMaxSmallSide) +
                "], the float32 cube side up to which the unpacked path runs (e.g. 320)");
  return side;
}

}  // namespace

// What every call needs, looked up once per process: one guard on the hot path, not three. A
// malformed AFFINE_GEMM_SMALL_MAX throws here, and again on every later call (a static whose
// initialiser throws is initialised on the next pass), so no product runs with a limit nobody
// asked for.
template <class T>
const SmallPath<T>& small_path() {
  static const SmallPath<T> path = [] {
    const auto cube = [](double side) {
      const auto s = static_cast<int64_t>(side);
      return s * s * s;
    };
    const auto share_of_l2 = [&](int64_t share) {
      return cube(std::sqrt(double(cache_sizes().l2) / double(share) / double(sizeof(T))));
    };
    const int64_t side = requested_small_side();
    const int64_t contiguous =
        side > 0 ? cube(double(side) * std::sqrt(double(sizeof(float)) / double(sizeof(T))))
                 : share_of_l2(4);
    const Kernels<T>& kern = active_kernels_for<T>();
    return SmallPath<T>{&kern, std::countr_zero(static_cast<unsigned>(kern.vec)), contiguous,
                        std::min(contiguous, share_of_l2(10))};
  }();
  return path;
}

template <class T>
int64_t small_max_work(bool contiguous) {
  const SmallPath<T>& path = small_path<T>();
  return contiguous ? path.max_work_contiguous : path.max_work_copying;
}
template int64_t small_max_work<float>(bool);
template int64_t small_max_work<double>(bool);

namespace {

// The plan and the run, for a problem already on this path: written once, inlined into both
// entry points, so a 32^3 product makes no call beyond gemm_small's own.
template <class T>
inline void run_small(const SmallPath<T>& path, const Problem<T>& p, T alpha, T beta) {
  const Kernels<T>& kern = *path.kern;
  const Problem<T> pt = p.transposed();
  const int w_shift = path.w_shift;
  const int64_t costs[4] = {cost_rowbcast(p, w_shift), cost_rowbcast(pt, w_shift),
                            cost_dot(p, w_shift), cost_dot(pt, w_shift)};
  const int best = static_cast<int>(std::min_element(costs, costs + 4) - costs);
  // One call site per kernel, so the compiler inlines each run_* here: a 32^3 product skips a
  // call level (its register saves and stack arguments, ~1% of the product's time).
  const Problem<T>& chosen = best % 2 == 0 ? p : pt;
  if (best < 2) {
    run_rowbcast(kern, chosen, alpha, beta);
  } else {
    run_dot(kern, chosen, alpha, beta);
  }
}

}  // namespace

template <class T>
bool gemm_small(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rs_a, int64_t cs_a,
                const T* b, int64_t rs_b, int64_t cs_b, T beta, T* c, int64_t rs_c, int64_t cs_c) {
  const bool skinny = k <= kTinyK || m <= kSkinny || n <= kSkinny;
  const SmallPath<T>& path = small_path<T>();
  // "contiguous" as small_max_work means it (kernel.hpp): a B in either orientation is laid out by
  // the block transpose; only scalar stores or an element-by-element copy lower the limit.
  const bool contiguous = cs_c == 1 && (cs_b == 1 || rs_b == 1);
  if (!skinny && m * n * k > (contiguous ? path.max_work_contiguous : path.max_work_copying))
    return false;
  run_small(path, Problem<T>{m, n, k, a, rs_a, cs_a, b, rs_b, cs_b, c, rs_c, cs_c}, alpha, beta);
  return true;
}

template <class T>
void gemm_unpacked(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rs_a, int64_t cs_a,
                   const T* b, int64_t rs_b, int64_t cs_b, T beta, T* c, int64_t rs_c,
                   int64_t cs_c) {
  run_small(small_path<T>(), Problem<T>{m, n, k, a, rs_a, cs_a, b, rs_b, cs_b, c, rs_c, cs_c},
            alpha, beta);
}

template void gemm_unpacked<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t,
                                   const float*, int64_t, int64_t, float, float*, int64_t, int64_t);
template void gemm_unpacked<double>(int64_t, int64_t, int64_t, double, const double*, int64_t,
                                    int64_t, const double*, int64_t, int64_t, double, double*,
                                    int64_t, int64_t);
template bool gemm_small<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t,
                                const float*, int64_t, int64_t, float, float*, int64_t, int64_t);
template bool gemm_small<double>(int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t,
                                 const double*, int64_t, int64_t, double, double*, int64_t,
                                 int64_t);

}  // namespace affine::detail::gemm
