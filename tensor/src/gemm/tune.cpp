// gemm_tune(): the explicit tuning command behind affine-gemm-tune.
//
// kc fixes the order in which each element's products are summed, so a blocking chosen by timing
// at run time would make results differ from run to run. The cache-derived blocking is therefore
// what every process uses unless the user exports AFFINE_GEMM_BLOCKING; this measures, on request,
// whether another blocking is faster on this machine and says which.
#include <algorithm>
#include <chrono>
#include <random>
#include <string>
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

}  // namespace

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
  for (size_t round = 0; round < 1 || seconds_since(start) < budget_seconds * 0.9; ++round) {
    for (size_t i = 0; i < candidates.size(); ++i) {
      const size_t j = (i + round) % candidates.size();
      best[j] = std::min(best[j], run(candidates[j]));
    }
    if (round > 1000) break;
  }

  const double flops = 2.0 * double(m) * double(n) * double(k);
  const size_t win = static_cast<size_t>(std::min_element(best.begin(), best.end()) - best.begin());
  const size_t ctr = static_cast<size_t>(centre - candidates.begin());
  return GemmTuning{
      candidates[win].mc, candidates[win].kc, candidates[win].nc, flops / best[win] / 1e9,
      derived.mc,         derived.kc,         derived.nc,         flops / best[ctr] / 1e9,
      num_threads()};
}

}  // namespace affine
