// A decision-boundary figure for any classifier of the plane: pass a function (x1, x2) -> p, get
// its shading, the curve p = level, a colour bar and, optionally, labelled points on top. viz
// knows nothing of models: wrap yours in a lambda (see the README's example).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "affine/viz/figure.hpp"

namespace affine::viz {

struct BoundaryOptions {
  double x0 = -1, x1 = 1, y0 = -1, y1 = 1;  // the region of the plane shown
  std::size_t resolution = 121;             // grid nodes along x1 (x2 gets as many per unit length)
  double level = 0.5;                       // the boundary drawn: f = level
  double vmin = 0, vmax = 1;  // the range the colour map spans (probabilities by default)
  Colormap cmap = Colormap::blue_orange();
  double opacity = 0.55;  // of the shading over white
  // Points drawn on top (optional): xs[i], ys[i] with integer class labels[i].
  std::vector<double> xs{}, ys{};
  std::vector<int> labels{};
  std::vector<std::string> class_names{};  // legend text for class k
  std::string title{}, xlabel = "x1", ylabel = "x2", value_label = "p(class 1)";
  double panel_width = 420;  // pixels; the height follows the region's aspect ratio
};

// Samples f on a grid over the region and draws it. Throws std::invalid_argument naming the point
// when f returns a non-finite value there, and for an empty region, a resolution below 2, or
// points whose arrays differ in length, so a bad model never yields a silently broken figure.
Figure decision_boundary(const std::function<double(double, double)>& f,
                         const BoundaryOptions& options = {});

}  // namespace affine::viz
