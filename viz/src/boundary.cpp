#include "affine/viz/boundary.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace affine::viz {

Figure decision_boundary(const std::function<double(double, double)>& f, const BoundaryOptions& o) {
  const auto bad = [](const std::string& what) {
    return std::invalid_argument("decision_boundary: " + what);
  };
  if (!f) throw bad("no function given");
  if (!(o.x1 > o.x0) || !(o.y1 > o.y0) || !std::isfinite(o.x1 - o.x0) ||
      !std::isfinite(o.y1 - o.y0))
    throw bad("need a finite region with x0 < x1 and y0 < y1, got [" + fmt(o.x0, 6) + ", " +
              fmt(o.x1, 6) + "] x [" + fmt(o.y0, 6) + ", " + fmt(o.y1, 6) + "]");
  if (o.resolution < 2 || o.resolution > 4000)
    throw bad("resolution must be 2..4000, got " + std::to_string(o.resolution));
  if (!(o.vmin < o.vmax)) throw bad("need vmin < vmax");
  if (o.xs.size() != o.ys.size() || (!o.labels.empty() && o.labels.size() != o.xs.size()))
    throw bad(std::to_string(o.xs.size()) + " x values, " + std::to_string(o.ys.size()) +
              " y values and " + std::to_string(o.labels.size()) + " labels");
  const double aspect = (o.y1 - o.y0) / (o.x1 - o.x0);
  const auto ny = static_cast<std::size_t>(
      std::clamp(std::lround(static_cast<double>(o.resolution - 1) * aspect) + 1, 2L, 4000L));
  const Grid g = Grid::sample(o.x0, o.x1, o.resolution, o.y0, o.y1, ny, [&](double x, double y) {
    const double v = f(x, y);
    if (!std::isfinite(v))
      throw bad("the function is " + fmt(v, 6) + " at (" + fmt(x, 6) + ", " + fmt(y, 6) +
                ") (a non-finite value, e.g. NaN weights)");
    return v;
  });

  const double pw = std::clamp(o.panel_width, 80.0, 4000.0);
  Figure fig(1, 1, pw, std::clamp(pw * aspect, 60.0, 4000.0));
  if (!o.title.empty()) fig.title(o.title);
  Panel& p = fig.panel(0);
  p.xlim(o.x0, o.x1).ylim(o.y0, o.y1).equal_aspect().xlabel(o.xlabel).ylabel(o.ylabel);
  // Ten bands of the colour map's range: enough to read p off the bar, few enough to stay small.
  std::vector<double> levels;
  for (int k = 0; k <= 10; ++k) levels.push_back(o.vmin + (o.vmax - o.vmin) * k / 10.0);
  p.contourf(g, levels, {.cmap = o.cmap, .vmin = o.vmin, .vmax = o.vmax, .opacity = o.opacity});
  if (!o.xs.empty()) {
    if (o.labels.empty())
      p.scatter(o.xs, o.ys, ScatterStyle{.color = palette::black, .size = 2.5, .opacity = 0.8});
    else
      p.scatter(o.xs, o.ys, o.labels, ClassStyle{.names = o.class_names, .size = 2.5});
  }
  p.contour(g, o.level,
            {.color = palette::black, .width = 1.8, .label = "boundary (" + fmt(o.level, 3) + ")"});
  fig.colorbar({.cmap = o.cmap,
                .vmin = o.vmin,
                .vmax = o.vmax,
                .opacity = o.opacity,
                .label = o.value_label});
  return fig;
}

}  // namespace affine::viz
