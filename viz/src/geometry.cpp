#include "affine/viz/geometry.hpp"

#include <cmath>
#include <limits>

namespace affine::viz {
namespace {

// Liang-Barsky on p + t*d for t in [t0, t1]; infinite bounds clip an unbounded line.
std::optional<Segment> clip_param(const Rect& r, Point p, Point d, double t0, double t1) {
  const double ps[4] = {-d.x, d.x, -d.y, d.y};
  const double qs[4] = {p.x - r.x0, r.x1 - p.x, p.y - r.y0, r.y1 - p.y};
  for (int i = 0; i < 4; ++i) {
    if (ps[i] == 0.0) {
      if (qs[i] < 0.0) return std::nullopt;  // parallel to this edge and outside it
      continue;
    }
    const double t = qs[i] / ps[i];
    if (ps[i] < 0.0) {
      if (t > t1) return std::nullopt;
      if (t > t0) t0 = t;
    } else {
      if (t < t0) return std::nullopt;
      if (t < t1) t1 = t;
    }
  }
  if (!std::isfinite(t0) || !std::isfinite(t1)) return std::nullopt;
  return Segment{{p.x + t0 * d.x, p.y + t0 * d.y}, {p.x + t1 * d.x, p.y + t1 * d.y}};
}

bool finite(Point p) { return std::isfinite(p.x) && std::isfinite(p.y); }

}  // namespace

std::optional<Segment> clip_segment(const Rect& r, Point a, Point b) {
  if (!finite(a) || !finite(b)) return std::nullopt;
  auto s = clip_param(r, a, {b.x - a.x, b.y - a.y}, 0.0, 1.0);
  // Keep the exact endpoints when they were inside, so joined pieces meet bit for bit.
  if (s && r.contains(a)) s->a = a;
  if (s && r.contains(b)) s->b = b;
  return s;
}

std::optional<Segment> clip_line(const Rect& r, double a, double b, double c) {
  const double n2 = a * a + b * b;
  if (!(n2 > 0.0) || !std::isfinite(n2) || !std::isfinite(c)) return std::nullopt;
  const Point p{-a * c / n2, -b * c / n2};  // the point of the line nearest the origin
  const double inf = std::numeric_limits<double>::infinity();
  auto s = clip_param(r, p, {-b, a}, -inf, inf);
  if (s && s->a == s->b) return std::nullopt;  // touches a corner only
  return s;
}

std::vector<std::vector<Point>> clip_polyline(const Rect& r, const std::vector<Point>& pts) {
  std::vector<std::vector<Point>> runs;
  std::vector<Point> cur;
  auto flush = [&] {
    if (cur.size() >= 2) runs.push_back(std::move(cur));
    cur.clear();
  };
  if (pts.size() == 1 && finite(pts[0]) && r.contains(pts[0])) return {{pts[0]}};
  for (std::size_t i = 0; i + 1 < pts.size(); ++i) {
    const auto s = clip_segment(r, pts[i], pts[i + 1]);
    if (!s) {
      flush();
      continue;
    }
    if (cur.empty() || !(cur.back() == s->a)) {
      flush();
      cur.push_back(s->a);
    }
    cur.push_back(s->b);
    if (!(s->b == pts[i + 1])) flush();  // left the rectangle
  }
  flush();
  return runs;
}

std::vector<Point> clip_polygon(const Rect& r, const std::vector<Point>& poly) {
  // One pass per edge; inside(p) and the edge crossing are written per edge as "signed distance".
  auto pass = [](const std::vector<Point>& in, auto dist) {
    std::vector<Point> out;
    for (std::size_t i = 0; i < in.size(); ++i) {
      const Point p = in[i], q = in[(i + 1) % in.size()];
      const double dp = dist(p), dq = dist(q);
      if (dp >= 0) out.push_back(p);
      if ((dp >= 0) != (dq >= 0)) {
        const double t = dp / (dp - dq);
        out.push_back({p.x + t * (q.x - p.x), p.y + t * (q.y - p.y)});
      }
    }
    return out;
  };
  std::vector<Point> v = poly;
  v = pass(v, [&](Point p) { return p.x - r.x0; });
  v = pass(v, [&](Point p) { return r.x1 - p.x; });
  v = pass(v, [&](Point p) { return p.y - r.y0; });
  v = pass(v, [&](Point p) { return r.y1 - p.y; });
  if (v.size() < 3) v.clear();
  return v;
}

}  // namespace affine::viz
