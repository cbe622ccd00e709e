// Scalar fields sampled on a regular grid, their level curves (marching squares) and the
// regions above a level (for filled contours).
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "affine/viz/geometry.hpp"

namespace affine::viz {

// Values at the nodes of a regular nx-by-ny grid spanning [x0, x1] x [y0, y1]; node (i, j) sits
// at x = x0 + i (x1 - x0) / (nx - 1), y = y0 + j (y1 - y0) / (ny - 1) and holds at(i, j) =
// values[j * nx + i] (row j is one y). nx, ny >= 2.
struct Grid {
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  std::size_t nx = 0, ny = 0;
  std::vector<double> values;

  double x(std::size_t i) const;
  double y(std::size_t j) const;
  double at(std::size_t i, std::size_t j) const { return values[j * nx + i]; }
  // Throws std::invalid_argument unless the sizes and extents describe a usable grid.
  void validate() const;

  // f sampled at every node.
  static Grid sample(double x0, double x1, std::size_t nx, double y0, double y1, std::size_t ny,
                     const std::function<double(double, double)>& f);
};

// Marching squares: the curve value == level as separate segments, one or two per cell. A node
// counts as "above" when value >= level; saddle cells are split by the mean of their corners.
// Cells with a NaN corner are skipped.
std::vector<Segment> marching_squares(const Grid& g, double level);

// The same curve joined into polylines (closed ones repeat their first point at the end), which
// draw as one smooth stroke instead of many butt-ended pieces.
std::vector<std::vector<Point>> contour_lines(const Grid& g, double level);

// The region value >= level as polygons: whole cells merged into horizontal runs of rectangles,
// plus one clipped polygon per cell the curve crosses. All counter-clockwise, so they can share
// one SVG path with the nonzero fill rule and show no seams.
std::vector<std::vector<Point>> superlevel_polygons(const Grid& g, double level);

}  // namespace affine::viz
