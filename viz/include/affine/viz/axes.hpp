// Data-to-pixel scales and "nice" tick positions (steps of 1, 2 or 5 times a power of ten).
#pragma once

#include <string>
#include <vector>

namespace affine::viz {

// Maps the data interval [d0, d1] linearly onto the pixel interval [p0, p1]. For a y axis pass
// p0 > p1: SVG's y grows downwards, data's upwards.
struct Scale {
  double d0 = 0, d1 = 1, p0 = 0, p1 = 1;
  double operator()(double v) const { return p0 + (v - d0) * (p1 - p0) / (d1 - d0); }
  double inverse(double p) const { return d0 + (p - p0) * (d1 - d0) / (p1 - p0); }
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

// The data interval of a set of values widened by `pad` (a fraction of its length) on each
// side; an empty or one-valued set gets a unit-sized interval around it.
struct Interval {
  double lo = 0, hi = 1;
};
Interval padded(double lo, double hi, double pad = 0.05);

}  // namespace affine::viz
