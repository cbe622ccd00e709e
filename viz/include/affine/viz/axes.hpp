// Data-to-pixel scales and "nice" tick positions (steps of 1, 2 or 5 times a power of ten).
#pragma once

#include <cmath>
#include <string>
#include <vector>

namespace affine::viz {

// Maps the data interval [d0, d1] onto the pixel interval [p0, p1], linearly or (with `log`, for
// 0 < d0 < d1) linearly in log10 of the value. For a y axis pass p0 > p1: SVG's y grows
// downwards, data's upwards.
struct Scale {
  double d0 = 0, d1 = 1, p0 = 0, p1 = 1;
  bool log = false;
  double operator()(double v) const {
    if (log) return p0 + std::log10(v / d0) * (p1 - p0) / std::log10(d1 / d0);
    return p0 + (v - d0) * (p1 - p0) / (d1 - d0);
  }
  double inverse(double p) const {
    if (log) return d0 * std::pow(10.0, (p - p0) * std::log10(d1 / d0) / (p1 - p0));
    return d0 + (p - p0) * (d1 - d0) / (p1 - p0);
  }
};

struct Ticks {
  std::vector<double> values;
  double step = 1;
};

// At most max_ticks (>= 2) evenly spaced round values inside [lo, hi], with the smallest step
// that fits. Values are computed as integer multiples of the step, so 0.3 prints as 0.3.
Ticks nice_ticks(double lo, double hi, int max_ticks);

// A tick value printed with just the decimals its step needs: step 0.5 -> "1.0", 20 -> "40".
std::string tick_label(double value, double step);

// Ticks for a log axis over [lo, hi] (0 < lo < hi): the powers of ten inside it, thinned to at most
// max_ticks; when fewer than two fit, 1-2-5 multiples of them; when even those are fewer than two,
// the linear nice_ticks. `step` is 0 for the log kinds (label them with log_tick_label).
Ticks log_ticks(double lo, double hi, int max_ticks);

// A log-axis tick value: plain decimals from 0.001 to 99999 ("0.01", "500"), else "1e-5".
std::string log_tick_label(double value);

// The data interval of a set of values widened by `pad` (a fraction of its length) on each
// side; an empty or one-valued set gets a unit-sized interval around it.
struct Interval {
  double lo = 0, hi = 1;
};
Interval padded(double lo, double hi, double pad = 0.05);

}  // namespace affine::viz
