// gemm_tune(): the explicit tuning command behind affine-gemm-tune.
//
// kc, and which path a product takes, fix the order in which each element's products are summed,
// so a blocking or a small-path limit chosen by timing at run time would make results differ from
// run to run. The cache-derived ones are therefore what every process uses unless the user exports
// AFFINE_GEMM_BLOCKING or AFFINE_GEMM_SMALL_MAX; this measures, on request, whether others are
// faster on this machine and says which.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "affine/tensor/error.hpp"
#include "affine/tensor/gemm.hpp"
#include "affine/tensor/parallel.hpp"
#include "kernel.hpp"

namespace affine {
namespace {

using detail::gemm::Blocking;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int64_t round_up(int64_t x, int64_t step) { return (x + step - 1) / step * step; }

// The small path against the packed one on float32 cubes, C = A B row-major, in rotating order for
// about `seconds` (at least one round); each side keeps its best time. The sides run from where
// both paths exist to past every crossover measured so far (Zen 4 256, Zen 1 ~350, Zen 5 ~640).
// They include 512, whose rows 2 KiB apart fall on few cache sets, and odd sides beside even
// ones: the unpacked kernels read rows where they lie, and on Zen 1 a 255^3 product ran 3-8%
// slower unpacked while 256^3 ran 7% faster.
std::vector<GemmSmallTiming> time_small_path(double seconds) {
  static constexpr int64_t kSides[] = {64,  96,  127, 128, 160, 192, 223, 224, 256,
                                       319, 320, 384, 447, 448, 512, 639, 640, 768};
  constexpr size_t kCount = std::size(kSides);
  const int64_t max_side = kSides[kCount - 1];
  std::vector<float> a(static_cast<size_t>(max_side * max_side)),
      b(static_cast<size_t>(max_side * max_side)), c(static_cast<size_t>(max_side * max_side));
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  for (float& x : a) x = uni(rng);
  for (float& x : b) x = uni(rng);
  const Blocking& blk = detail::gemm::gemm_blocking<float>();
  const auto run = [&](int64_t s, bool unpacked) {
    const auto t0 = std::chrono::steady_clock::now();
    if (unpacked) {
      detail::gemm::gemm_unpacked<float>(s, s, s, 1.0f, a.data(), s, 1, b.data(), s, 1, 0.0f,
                                         c.data(), s, 1);
    } else {
      detail::gemm::gemm_packed<float>(blk, s, s, s, 1.0f, a.data(), s, 1, b.data(), s, 1, 0.0f,
                                       c.data(), s, 1);
    }
    return seconds_since(t0);
  };
  std::vector<double> best(2 * kCount, 1e300);
  const auto start = std::chrono::steady_clock::now();
  for (size_t round = 0; round < 1 || seconds_since(start) < seconds; ++round) {
    for (size_t i = 0; i < 2 * kCount; ++i) {
      const size_t j = (i + round) % (2 * kCount);
      best[j] = std::min(best[j], run(kSides[j / 2], j % 2 == 0));
    }
    if (round > 1000) break;
  }
  std::vector<GemmSmallTiming> out;
  for (size_t i = 0; i < kCount; ++i) {
    const double flops = 2.0 * double(kSides[i]) * double(kSides[i]) * double(kSides[i]);
    out.push_back({kSides[i], flops / best[2 * i] / 1e9, flops / best[2 * i + 1] / 1e9});
  }
  return out;
}

}  // namespace

int64_t detail::gemm::small_side_from(const std::vector<GemmSmallTiming>& timings) {
  // Where the summed log speed-up of the sides up to it peaks (the first such side): one noisy
  // side, won or lost by a few percent, moves the limit by at most one step.
  int64_t side = timings.empty() ? 0 : timings.front().side;
  double sum = 0, best = 0;
  for (const GemmSmallTiming& t : timings) {
    sum += std::log(t.unpacked_gflops / t.packed_gflops);
    if (sum > best) best = sum, side = t.side;
  }
  return side;
}

GemmTuning gemm_tune(double budget_seconds) {
  if (!(budget_seconds > 0 && budget_seconds <= 600))
    throw Error("gemm_tune: budget_seconds must be in (0, 600], got " +
                std::to_string(budget_seconds));
  const auto& kern = detail::gemm::active_kernels_for<float>();
  const Blocking derived = detail::gemm::blocking_for<float>(kern);

  // kc and mc from half to twice the derived values; nc only matters for problems wider than it
  // (a quarter of L3, at most four L2s), which a budget of seconds cannot time, so it stays.
  std::vector<Blocking> candidates;
  for (const int64_t kc8 : {4, 6, 8, 12, 16}) {
    for (const int64_t mc2 : {1, 2, 4}) {
      Blocking b = derived;
      b.kc = std::clamp<int64_t>(derived.kc * kc8 / 8, 16, 16384);
      b.mc = std::clamp<int64_t>(round_up(derived.mc * mc2 / 2, b.mr), b.mr, 16384);
      candidates.push_back(b);
    }
  }
  const auto centre = std::find_if(candidates.begin(), candidates.end(), [&](const Blocking& b) {
    return b.kc == derived.kc && b.mc == derived.mc;
  });

  // A problem with several mc blocks and kc slices for every candidate; C = A B, row-major.
  int64_t kc_max = 0, mc_max = 0;
  for (const Blocking& b : candidates)
    kc_max = std::max(kc_max, b.kc), mc_max = std::max(mc_max, b.mc);
  const int64_t m = std::max<int64_t>(256, round_up(2 * mc_max, 64)), n = 512;
  const int64_t k = std::min<int64_t>(4096, 2 * kc_max);
  std::vector<float> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n)),
      c(static_cast<size_t>(m * n));
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  for (float& x : a) x = uni(rng);
  for (float& x : b) x = uni(rng);

  const auto run = [&](const Blocking& blk) {
    const auto t0 = std::chrono::steady_clock::now();
    detail::gemm::gemm_packed<float>(blk, m, n, k, 1.0f, a.data(), k, 1, b.data(), n, 1, 0.0f,
                                     c.data(), n, 1);
    return seconds_since(t0);
  };
  run(derived);  // warm up the pool, the page tables and the scratch buffers

  // Rounds over every candidate, in rotating order so a neighbour's burst of load does not fall
  // on one candidate only; each keeps its best time. At least one round.
  std::vector<double> best(candidates.size(), 1e300);
  const auto start = std::chrono::steady_clock::now();
  // Six tenths of the budget for the blocking, three for the small path (a tenth is slack).
  for (size_t round = 0; round < 1 || seconds_since(start) < budget_seconds * 0.6; ++round) {
    for (size_t i = 0; i < candidates.size(); ++i) {
      const size_t j = (i + round) % candidates.size();
      best[j] = std::min(best[j], run(candidates[j]));
    }
    if (round > 1000) break;
  }

  const double flops = 2.0 * double(m) * double(n) * double(k);
  const size_t win = static_cast<size_t>(std::min_element(best.begin(), best.end()) - best.begin());
  const size_t ctr = static_cast<size_t>(centre - candidates.begin());
  std::vector<GemmSmallTiming> small = time_small_path(budget_seconds * 0.3);
  const int64_t small_side = detail::gemm::small_side_from(small);
  const auto in_use = static_cast<int64_t>(
      std::llround(std::cbrt(double(detail::gemm::small_max_work<float>(true)))));
  return GemmTuning{candidates[win].mc,
                    candidates[win].kc,
                    candidates[win].nc,
                    flops / best[win] / 1e9,
                    derived.mc,
                    derived.kc,
                    derived.nc,
                    flops / best[ctr] / 1e9,
                    num_threads(),
                    small_side,
                    in_use,
                    std::move(small)};
}

}  // namespace affine
