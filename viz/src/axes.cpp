#include "affine/viz/axes.hpp"

#include <algorithm>
#include <cmath>

#include "affine/viz/svg.hpp"

namespace affine::viz {

Ticks nice_ticks(double lo, double hi, int max_ticks) {
  if (lo > hi) std::swap(lo, hi);
  max_ticks = std::max(max_ticks, 2);
  const double range = hi - lo;
  if (!std::isfinite(range) || !(range > 0)) return {{lo}, 1.0};
  // Start one decade below the step that would give max_ticks ticks, then grow 1-2-5 until the
  // ticks fit; the first that fits is the densest readable choice.
  int exp10 = static_cast<int>(std::floor(std::log10(range / max_ticks))) - 1;
  static constexpr double mantissas[] = {1, 2, 5};
  for (;; ++exp10) {
    for (const double m : mantissas) {
      const double step = m * std::pow(10.0, exp10);
      const double eps = step * 1e-9;
      const auto first = static_cast<long long>(std::ceil((lo - eps) / step));
      const auto last = static_cast<long long>(std::floor((hi + eps) / step));
      if (last - first + 1 > max_ticks) continue;
      Ticks t;
      t.step = step;
      for (long long k = first; k <= last; ++k) t.values.push_back(static_cast<double>(k) * step);
      return t;
    }
  }
}

std::string tick_label(double value, double step) {
  const int decimals = std::clamp(-static_cast<int>(std::floor(std::log10(step) + 1e-9)), 0, 10);
  return fixed(value, decimals);
}

Ticks log_ticks(double lo, double hi, int max_ticks) {
  if (lo > hi) std::swap(lo, hi);
  max_ticks = std::max(max_ticks, 2);
  if (!(lo > 0) || !std::isfinite(hi) || !(hi > lo)) return nice_ticks(lo, hi, max_ticks);
  const int e0 = static_cast<int>(std::floor(std::log10(lo))),
            e1 = static_cast<int>(std::ceil(std::log10(hi)));
  const auto inside = [&](double v) { return v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9); };
  // Powers of ten, every `every`-th decade so that at most max_ticks remain.
  for (int every = 1; every <= e1 - e0 + 1; ++every) {
    Ticks t;
    t.step = 0;
    for (int e = e0; e <= e1; ++e) {
      const double v = std::pow(10.0, e);
      if (inside(v) && ((e % every) + every) % every == 0) t.values.push_back(v);
    }
    if (t.values.size() >= 2 && static_cast<int>(t.values.size()) <= max_ticks) return t;
    if (t.values.size() < 2) break;
  }
  Ticks t;
  t.step = 0;
  for (int e = e0; e <= e1; ++e)
    for (const double m : {1.0, 2.0, 5.0})
      if (inside(m * std::pow(10.0, e))) t.values.push_back(m * std::pow(10.0, e));
  if (t.values.size() >= 2 && static_cast<int>(t.values.size()) <= max_ticks) return t;
  return nice_ticks(lo, hi, max_ticks);
}

std::string log_tick_label(double value) {
  if (value >= 1e-3 && value < 1e5) return fmt(value, 6);
  const int e = static_cast<int>(std::floor(std::log10(value) + 1e-9));
  const double m = value / std::pow(10.0, e);
  return (std::abs(m - 1) < 1e-9 ? std::string() : fmt(m, 2) + "x") + "1e" + std::to_string(e);
}

Interval padded(double lo, double hi, double pad) {
  if (!(lo <= hi)) return {0.0, 1.0};  // empty (lo = +inf, hi = -inf) or NaN
  if (lo == hi) {
    const double h = lo == 0 ? 0.5 : std::abs(lo) * 0.1;
    return {lo - h, hi + h};
  }
  const double d = (hi - lo) * pad;
  return {lo - d, hi + d};
}

}  // namespace affine::viz
