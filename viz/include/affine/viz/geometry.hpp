// Clipping in data coordinates. Figures clip geometrically instead of with SVG <clipPath>, so
// they need no element ids and several can be inlined into one HTML page without clashing.
#pragma once

#include <optional>
#include <vector>

namespace affine::viz {

struct Point {
  double x = 0, y = 0;
  friend bool operator==(Point, Point) = default;
};

struct Segment {
  Point a, b;
};

// Axis-aligned rectangle [x0, x1] x [y0, y1] (x0 <= x1, y0 <= y1).
struct Rect {
  double x0 = 0, y0 = 0, x1 = 1, y1 = 1;
  bool contains(Point p) const { return p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1; }
};

// The part of segment a-b inside r (Liang-Barsky), or nothing.
std::optional<Segment> clip_segment(const Rect& r, Point a, Point b);

// The part of the infinite line a*x + b*y + c = 0 inside r, or nothing (also when a = b = 0).
std::optional<Segment> clip_line(const Rect& r, double a, double b, double c);

// A polyline cut to r: each maximal run inside r becomes its own polyline. Non-finite vertices
// break the line, so NaN can mark gaps in a series.
std::vector<std::vector<Point>> clip_polyline(const Rect& r, const std::vector<Point>& pts);

// A polygon cut to r (Sutherland-Hodgman); keeps the vertex order, empty when nothing remains.
std::vector<Point> clip_polygon(const Rect& r, const std::vector<Point>& poly);

}  // namespace affine::viz
