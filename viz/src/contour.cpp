#include "affine/viz/contour.hpp"

#include <array>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

namespace affine::viz {

double Grid::x(std::size_t i) const {
  return x0 + (x1 - x0) * static_cast<double>(i) / static_cast<double>(nx - 1);
}
double Grid::y(std::size_t j) const {
  return y0 + (y1 - y0) * static_cast<double>(j) / static_cast<double>(ny - 1);
}

void Grid::validate() const {
  if (nx < 2 || ny < 2)
    throw std::invalid_argument("Grid: needs at least 2x2 nodes, got " + std::to_string(nx) + "x" +
                                std::to_string(ny));
  if (values.size() != nx * ny)
    throw std::invalid_argument("Grid: " + std::to_string(nx) + "x" + std::to_string(ny) +
                                " nodes but " + std::to_string(values.size()) + " values");
  if (!(x1 > x0) || !(y1 > y0) || !std::isfinite(x1 - x0) || !std::isfinite(y1 - y0))
    throw std::invalid_argument("Grid: extent must be finite with x1 > x0 and y1 > y0");
}

Grid Grid::sample(double x0, double x1, std::size_t nx, double y0, double y1, std::size_t ny,
                  const std::function<double(double, double)>& f) {
  Grid g{x0, x1, y0, y1, nx, ny, std::vector<double>(nx * ny)};
  g.validate();
  for (std::size_t j = 0; j < ny; ++j)
    for (std::size_t i = 0; i < nx; ++i) g.values[j * nx + i] = f(g.x(i), g.y(j));
  return g;
}

namespace {

// Edge identities make joining exact: neighbouring cells name a shared edge the same way and
// compute its crossing from the same two nodes in the same order, so the points agree bit for bit.
struct Edge {
  std::size_t i, j;
  bool vertical;  // vertical: (i, j)-(i, j+1); horizontal: (i, j)-(i+1, j)
  friend auto operator<=>(const Edge&, const Edge&) = default;
};

Point crossing(const Grid& g, const Edge& e, double level) {
  const std::size_t i2 = e.vertical ? e.i : e.i + 1, j2 = e.vertical ? e.j + 1 : e.j;
  const double a = g.at(e.i, e.j), b = g.at(i2, j2);
  const double t = (level - a) / (b - a);
  if (e.vertical) return {g.x(e.i), g.y(e.j) + t * (g.y(e.j + 1) - g.y(e.j))};
  return {g.x(e.i) + t * (g.x(e.i + 1) - g.x(e.i)), g.y(e.j)};
}

// Calls emit(edge, edge) for each piece of the level curve in each cell.
template <class Emit>
void march(const Grid& g, double level, Emit emit) {
  g.validate();
  for (std::size_t j = 0; j + 1 < g.ny; ++j) {
    for (std::size_t i = 0; i + 1 < g.nx; ++i) {
      // Corners counter-clockwise from bottom-left; edges e[k] join corner k and k+1.
      const std::array<double, 4> v{g.at(i, j), g.at(i + 1, j), g.at(i + 1, j + 1), g.at(i, j + 1)};
      if (std::isnan(v[0]) || std::isnan(v[1]) || std::isnan(v[2]) || std::isnan(v[3])) continue;
      const std::array<Edge, 4> e{Edge{i, j, false}, Edge{i + 1, j, true}, Edge{i, j + 1, false},
                                  Edge{i, j, true}};
      int code = 0;
      for (int k = 0; k < 4; ++k) code |= (v[static_cast<std::size_t>(k)] >= level) << k;
      switch (code) {
        case 0:
        case 15:
          break;
        case 1:
        case 14:
          emit(e[3], e[0]);
          break;
        case 2:
        case 13:
          emit(e[0], e[1]);
          break;
        case 3:
        case 12:
          emit(e[3], e[1]);
          break;
        case 4:
        case 11:
          emit(e[1], e[2]);
          break;
        case 6:
        case 9:
          emit(e[0], e[2]);
          break;
        case 7:
        case 8:
          emit(e[3], e[2]);
          break;
        case 5:
        case 10: {
          // Saddle: if the centre is on the same side as corners 0 and 2, they are connected
          // and the curve cuts off corners 1 and 3; otherwise it cuts off 0 and 2.
          const bool centre_above = (v[0] + v[1] + v[2] + v[3]) / 4 >= level;
          if (centre_above == (code == 5)) {
            emit(e[0], e[1]);
            emit(e[2], e[3]);
          } else {
            emit(e[3], e[0]);
            emit(e[1], e[2]);
          }
          break;
        }
        default:
          break;
      }
    }
  }
}

double area(const std::vector<Point>& poly) {
  double a = 0;
  for (std::size_t k = 0; k < poly.size(); ++k) {
    const Point u = poly[k], v = poly[(k + 1) % poly.size()];
    a += u.x * v.y - v.x * u.y;
  }
  return a / 2;
}

}  // namespace

std::vector<Segment> marching_squares(const Grid& g, double level) {
  std::vector<Segment> out;
  march(g, level, [&](const Edge& a, const Edge& b) {
    out.push_back({crossing(g, a, level), crossing(g, b, level)});
  });
  return out;
}

std::vector<std::vector<Point>> contour_lines(const Grid& g, double level) {
  std::vector<std::array<Edge, 2>> segs;
  march(g, level, [&](const Edge& a, const Edge& b) { segs.push_back({a, b}); });
  // Every crossed edge belongs to at most two segments (the cells on either side).
  std::map<Edge, std::array<std::size_t, 2>> at;
  constexpr std::size_t none = static_cast<std::size_t>(-1);
  for (std::size_t s = 0; s < segs.size(); ++s)
    for (const Edge& e : segs[s]) {
      auto [it, fresh] = at.try_emplace(e, std::array<std::size_t, 2>{none, none});
      it->second[it->second[0] == none ? 0 : 1] = s;
    }
  std::vector<bool> used(segs.size(), false);
  auto other = [&](const Edge& e, std::size_t s) {
    const auto& p = at.at(e);
    return p[0] == s ? p[1] : p[0];
  };
  // Walk from edge `from` through segment s, appending crossings until the chain ends.
  auto walk = [&](std::size_t s, Edge from, std::vector<Edge>& chain) {
    while (s != none && !used[s]) {
      used[s] = true;
      const Edge next = segs[s][0] == from ? segs[s][1] : segs[s][0];
      chain.push_back(next);
      from = next;
      s = other(next, s);
    }
  };
  std::vector<std::vector<Point>> lines;
  // Open chains first start from their ends (edges with one segment), then closed loops remain.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t s = 0; s < segs.size(); ++s) {
      if (used[s]) continue;
      Edge start = segs[s][0];
      if (pass == 0) {
        if (other(segs[s][0], s) == none)
          start = segs[s][0];
        else if (other(segs[s][1], s) == none)
          start = segs[s][1];
        else
          continue;
      }
      std::vector<Edge> chain{start};
      walk(s, start, chain);
      std::vector<Point> line;
      line.reserve(chain.size());
      for (const Edge& e : chain) line.push_back(crossing(g, e, level));
      lines.push_back(std::move(line));
    }
  }
  return lines;
}

std::vector<std::vector<Point>> superlevel_polygons(const Grid& g, double level) {
  g.validate();
  std::vector<std::vector<Point>> out;
  for (std::size_t j = 0; j + 1 < g.ny; ++j) {
    std::size_t run = g.nx;  // first cell of the current run of full cells, nx when none
    auto end_run = [&](std::size_t i) {
      if (run == g.nx) return;
      out.push_back(
          {{g.x(run), g.y(j)}, {g.x(i), g.y(j)}, {g.x(i), g.y(j + 1)}, {g.x(run), g.y(j + 1)}});
      run = g.nx;
    };
    for (std::size_t i = 0; i + 1 < g.nx; ++i) {
      const std::array<double, 4> v{g.at(i, j), g.at(i + 1, j), g.at(i + 1, j + 1), g.at(i, j + 1)};
      const std::array<Point, 4> p{Point{g.x(i), g.y(j)}, Point{g.x(i + 1), g.y(j)},
                                   Point{g.x(i + 1), g.y(j + 1)}, Point{g.x(i), g.y(j + 1)}};
      int above = 0;
      bool nan = false;
      for (double x : v) {
        nan = nan || std::isnan(x);
        above += x >= level;
      }
      if (!nan && above == 4) {
        if (run == g.nx) run = i;
        continue;
      }
      end_run(i);
      if (nan || above == 0) continue;
      // Clip the cell to value >= level, the value varying linearly along each edge.
      std::vector<Point> poly;
      for (std::size_t k = 0; k < 4; ++k) {
        const std::size_t n = (k + 1) % 4;
        const bool in = v[k] >= level, next_in = v[n] >= level;
        auto put = [&poly](Point q) {
          if (poly.empty() || !(poly.back() == q)) poly.push_back(q);
        };
        if (in) put(p[k]);
        if (in != next_in) {
          const double t = (level - v[k]) / (v[n] - v[k]);
          put({p[k].x + t * (p[n].x - p[k].x), p[k].y + t * (p[n].y - p[k].y)});
        }
      }
      if (poly.size() > 1 && poly.front() == poly.back()) poly.pop_back();
      // Corners at (or a rounding error from) the level give slivers of no visible area.
      if (poly.size() >= 3 && area(poly) > 1e-9 * area({p.begin(), p.end()}))
        out.push_back(std::move(poly));
    }
    end_run(g.nx - 1);
  }
  return out;
}

}  // namespace affine::viz
