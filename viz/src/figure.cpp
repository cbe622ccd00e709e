#include "affine/viz/figure.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>

#include "affine/viz/file.hpp"

namespace affine::viz {

// ---------------------------------------------------------------------------------------------
// Look: sizes in pixels, colours of the chrome. One place, so all figures agree.
namespace {

constexpr double kTickFont = 11, kLabelFont = 12, kTitleFont = 13, kFigTitleFont = 15;
constexpr double kLegendFont = 11, kLegendRow = 17, kSwatch = 22;
constexpr Color kInk = Color::hex(0x222222), kTickInk = Color::hex(0x444444);
constexpr Color kFrame = Color::hex(0x9a9a9a), kGrid = Color::hex(0xebebeb);
constexpr Color kZero = Color::hex(0xa0a0a0), kWhite = Color::hex(0xffffff);

// Text extent estimate without font metrics: about 0.6 em per character for DejaVu Sans-like
// fonts. Counting UTF-8 code points, not bytes, keeps "W e₁" from measuring twice its width.
double text_width(std::string_view s, double font) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return static_cast<double>(n) * 0.6 * font;
}

bool empty(const Interval& v) { return !(v.lo <= v.hi); }

Interval unite(const Interval& a, const Interval& b) {
  if (empty(a)) return b;
  if (empty(b)) return a;
  return {std::min(a.lo, b.lo), std::max(a.hi, b.hi)};
}

Interval extent(std::span<const double> v, bool positive_only = false) {
  Interval r{1, -1};
  for (const double x : v)
    if (std::isfinite(x) && (!positive_only || x > 0)) r = unite(r, {x, x});
  return r;
}

Interval positive_part(const Interval& v) {
  if (empty(v) || !(v.hi > 0)) return {1, -1};
  return {v.lo > 0 ? v.lo : v.hi * 1e-3, v.hi};  // a grid reaching down to 0: three decades of it
}

// padded() in log10 space, for a log axis.
Interval padded_log(const Interval& v) {
  const Interval l = padded(std::log10(v.lo), std::log10(v.hi));
  return {std::pow(10.0, l.lo), std::pow(10.0, l.hi)};
}

const char* anchor_name(Anchor a) {
  switch (a) {
    case Anchor::middle:
      return "middle";
    case Anchor::end:
      return "end";
    default:
      return "start";
  }
}

// Points every few pixels along a pixel-space segment, so legend placement sees lines too.
void trace(std::vector<Point>& out, Point a, Point b) {
  const double len = std::hypot(b.x - a.x, b.y - a.y);
  const int n = std::max(1, static_cast<int>(len / 6));
  for (int k = 0; k <= n; ++k) {
    const double t = static_cast<double>(k) / n;
    out.push_back({a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)});
  }
}

void draw_marker(Svg& svg, Marker m, Point c, double r, const Attrs& paint) {
  switch (m) {
    case Marker::circle:
      svg.element("circle", Attrs(paint).num("cx", c.x).num("cy", c.y).num("r", r));
      return;
    case Marker::square: {
      const double s = 1.75 * r;  // same area as the circle, near enough
      svg.element("rect", Attrs(paint)
                              .num("x", c.x - s / 2)
                              .num("y", c.y - s / 2)
                              .num("width", s)
                              .num("height", s));
      return;
    }
    case Marker::triangle:
      svg.element("path", Attrs(paint).str("d", PathData()
                                                    .move(c.x, c.y - 1.35 * r)
                                                    .line(c.x + 1.2 * r, c.y + 0.75 * r)
                                                    .line(c.x - 1.2 * r, c.y + 0.75 * r)
                                                    .close()
                                                    .text()));
      return;
    case Marker::diamond:
      svg.element("path", Attrs(paint).str("d", PathData()
                                                    .move(c.x, c.y - 1.3 * r)
                                                    .line(c.x + 1.3 * r, c.y)
                                                    .line(c.x, c.y + 1.3 * r)
                                                    .line(c.x - 1.3 * r, c.y)
                                                    .close()
                                                    .text()));
      return;
  }
}

Marker class_marker(int k) {
  static constexpr std::array<Marker, 4> order{Marker::circle, Marker::square, Marker::triangle,
                                               Marker::diamond};
  return order[static_cast<std::size_t>(((k % 4) + 4) % 4)];
}

// One legend entry's symbol, centred vertically on y, occupying [x, x + kSwatch].
void draw_swatch(Svg& svg, const LegendEntry& e, double x, double y) {
  switch (e.kind) {
    case LegendEntry::Kind::marker:
      draw_marker(svg, e.marker, {x + kSwatch / 2, y}, 4,
                  Attrs().color("fill", e.color).color("stroke", kWhite).num("stroke-width", 0.6));
      return;
    case LegendEntry::Kind::line: {
      Attrs a;
      a.num("x1", x)
          .num("y1", y)
          .num("x2", x + kSwatch)
          .num("y2", y)
          .color("stroke", e.color)
          .num("stroke-width", e.width);
      if (!e.dash.empty()) a.str("stroke-dasharray", e.dash);
      svg.element("line", a);
      return;
    }
    case LegendEntry::Kind::patch:
      svg.element("rect", Attrs()
                              .num("x", x + 3)
                              .num("y", y - 5)
                              .num("width", kSwatch - 6)
                              .num("height", 10)
                              .color("fill", e.color)
                              .color("stroke", kFrame)
                              .num("stroke-width", 0.5));
      return;
  }
}

Attrs text_attrs(double size, Color color, Anchor anchor, bool bold = false) {
  Attrs a;
  a.num("font-size", size).color("fill", color);
  if (anchor != Anchor::start) a.str("text-anchor", anchor_name(anchor));
  if (bold) a.str("font-weight", "bold");
  return a;
}

// Baseline for text vertically centred on y (SVG's dominant-baseline is unevenly supported).
double centred(double y, double font) { return y + 0.35 * font; }

}  // namespace

// ---------------------------------------------------------------------------------------------
struct detail::Frame {
  Rect lim;      // data limits
  Scale sx, sy;  // data -> pixels
  Point px(Point p) const { return {sx(p.x), sy(p.y)}; }
  Point px(double x, double y) const { return {sx(x), sy(y)}; }
};

Panel& Panel::title(std::string text) {
  title_ = std::move(text);
  return *this;
}
Panel& Panel::xlabel(std::string text) {
  xlabel_ = std::move(text);
  return *this;
}
Panel& Panel::ylabel(std::string text) {
  ylabel_ = std::move(text);
  return *this;
}
Panel& Panel::equal_aspect(bool on) {
  equal_ = on;
  return *this;
}
Panel& Panel::zero_lines(bool on) {
  zero_lines_ = on;
  return *this;
}
Panel& Panel::legend(LegendPos pos) {
  legend_ = pos;
  return *this;
}
Panel& Panel::xlog(bool on) {
  xlog_ = on;
  return *this;
}
Panel& Panel::ylog(bool on) {
  ylog_ = on;
  return *this;
}
Panel& Panel::tick_labels(bool x, bool y) {
  xticklabels_ = x;
  yticklabels_ = y;
  return *this;
}

Panel& Panel::xlim(double lo, double hi) {
  if (!(hi > lo) || !std::isfinite(hi - lo))
    throw std::invalid_argument("Panel::xlim: need finite lo < hi, got " + fmt(lo, 6) + ", " +
                                fmt(hi, 6));
  xlim_ = Interval{lo, hi};
  return *this;
}

Panel& Panel::ylim(double lo, double hi) {
  if (!(hi > lo) || !std::isfinite(hi - lo))
    throw std::invalid_argument("Panel::ylim: need finite lo < hi, got " + fmt(lo, 6) + ", " +
                                fmt(hi, 6));
  ylim_ = Interval{lo, hi};
  return *this;
}

namespace {
void check_sizes(const char* what, std::size_t nx, std::size_t ny) {
  if (nx != ny)
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(nx) + " x values but " +
                                std::to_string(ny) + " y values");
}
}  // namespace

Panel& Panel::scatter(std::span<const double> xs, std::span<const double> ys,
                      const ScatterStyle& style) {
  check_sizes("Panel::scatter", xs.size(), ys.size());
  Item it;
  it.x = extent(xs);
  it.y = extent(ys);
  it.xpos = extent(xs, true);
  it.ypos = extent(ys, true);
  if (!style.label.empty())
    it.legend.push_back(
        {LegendEntry::Kind::marker, style.color, style.marker, 1.5, "", style.label});
  std::vector<Point> pts;
  for (std::size_t i = 0; i < xs.size(); ++i) pts.push_back({xs[i], ys[i]});
  it.draw = [pts = std::move(pts), style](const detail::Frame& f, Svg& svg,
                                          std::vector<Point>& obs) {
    svg.open("g", Attrs()
                      .color("fill", style.color)
                      .num("fill-opacity", style.opacity)
                      .color("stroke", kWhite)
                      .num("stroke-width", 0.6));
    for (const Point p : pts) {
      if (!f.lim.contains(p)) continue;
      draw_marker(svg, style.marker, f.px(p), style.size, {});
      obs.push_back(f.px(p));
    }
    svg.close();
  };
  add(std::move(it));
  return *this;
}

Panel& Panel::scatter(std::span<const double> xs, std::span<const double> ys,
                      std::span<const int> classes, const ClassStyle& style) {
  check_sizes("Panel::scatter", xs.size(), ys.size());
  if (classes.size() != xs.size())
    throw std::invalid_argument("Panel::scatter: " + std::to_string(xs.size()) + " points but " +
                                std::to_string(classes.size()) + " class labels");
  Item it;
  it.x = extent(xs);
  it.y = extent(ys);
  it.xpos = extent(xs, true);
  it.ypos = extent(ys, true);
  std::vector<int> present(classes.begin(), classes.end());
  std::sort(present.begin(), present.end());
  present.erase(std::unique(present.begin(), present.end()), present.end());
  for (const int k : present) {
    const auto uk = static_cast<std::size_t>(k);
    std::string name =
        k >= 0 && uk < style.names.size() ? style.names[uk] : "class " + std::to_string(k);
    it.legend.push_back({LegendEntry::Kind::marker, class_color(k),
                         style.shapes ? class_marker(k) : Marker::circle, 1.5, "",
                         std::move(name)});
  }
  std::vector<Point> pts;
  for (std::size_t i = 0; i < xs.size(); ++i) pts.push_back({xs[i], ys[i]});
  std::vector<int> cls(classes.begin(), classes.end());
  it.draw = [pts = std::move(pts), cls = std::move(cls), style](const detail::Frame& f, Svg& svg,
                                                                std::vector<Point>& obs) {
    Attrs group;
    group.num("fill-opacity", style.opacity);
    if (style.outline) group.color("stroke", kWhite).num("stroke-width", 0.6);
    svg.open("g", group);
    // Input order, not class by class: no class is systematically painted over the other.
    for (std::size_t i = 0; i < pts.size(); ++i) {
      if (!f.lim.contains(pts[i])) continue;
      draw_marker(svg, style.shapes ? class_marker(cls[i]) : Marker::circle, f.px(pts[i]),
                  style.size, Attrs().color("fill", class_color(cls[i])));
      obs.push_back(f.px(pts[i]));
    }
    svg.close();
  };
  add(std::move(it));
  return *this;
}

namespace {
Attrs stroke_attrs(const LineStyle& s) {
  Attrs a;
  a.str("fill", "none").color("stroke", s.color).num("stroke-width", s.width);
  if (!s.dash.empty()) a.str("stroke-dasharray", s.dash);
  if (s.opacity < 1) a.num("stroke-opacity", s.opacity);
  a.str("stroke-linejoin", "round").str("stroke-linecap", "round");
  return a;
}

LegendEntry line_entry(const LineStyle& s) {
  return {LegendEntry::Kind::line, s.color, Marker::circle, s.width, s.dash, s.label};
}

// Clipped polylines as one path element; returns false when nothing was visible.
void draw_polylines(const detail::Frame& f, Svg& svg, const std::vector<std::vector<Point>>& lines,
                    const Attrs& attrs, std::vector<Point>& obs) {
  PathData d;
  for (const auto& line : lines) {
    for (const auto& run : clip_polyline(f.lim, line)) {
      if (run.size() < 2) continue;
      d.move(f.sx(run[0].x), f.sy(run[0].y));
      for (std::size_t k = 1; k < run.size(); ++k) {
        d.line(f.sx(run[k].x), f.sy(run[k].y));
        trace(obs, f.px(run[k - 1]), f.px(run[k]));
      }
    }
  }
  if (!d.empty()) svg.element("path", Attrs(attrs).str("d", d.text()));
}

}  // namespace

Panel& Panel::line(std::span<const double> xs, std::span<const double> ys, const LineStyle& style) {
  check_sizes("Panel::line", xs.size(), ys.size());
  Item it;
  it.x = extent(xs);
  it.y = extent(ys);
  it.xpos = extent(xs, true);
  it.ypos = extent(ys, true);
  if (!style.label.empty()) it.legend.push_back(line_entry(style));
  std::vector<Point> pts;
  for (std::size_t i = 0; i < xs.size(); ++i) pts.push_back({xs[i], ys[i]});
  it.draw = [pts = std::move(pts), style](const detail::Frame& f, Svg& svg,
                                          std::vector<Point>& obs) {
    draw_polylines(f, svg, {pts}, stroke_attrs(style), obs);
  };
  add(std::move(it));
  return *this;
}

Panel& Panel::infinite_line(double a, double b, double c, const LineStyle& style) {
  Item it;
  if (!style.label.empty()) it.legend.push_back(line_entry(style));
  it.draw = [a, b, c, style](const detail::Frame& f, Svg& svg, std::vector<Point>& obs) {
    const auto s = clip_line(f.lim, a, b, c);
    if (!s) return;
    const Point p = f.px(s->a), q = f.px(s->b);
    svg.element(
        "line",
        Attrs(stroke_attrs(style)).num("x1", p.x).num("y1", p.y).num("x2", q.x).num("y2", q.y));
    trace(obs, p, q);
  };
  add(std::move(it));
  return *this;
}

Panel& Panel::arrow(double x0, double y0, double x1, double y1, const ArrowStyle& style) {
  Item it;
  it.x = unite({x0, x0}, {x1, x1});
  it.y = unite({y0, y0}, {y1, y1});
  it.draw = [=](const detail::Frame& f, Svg& svg, std::vector<Point>& obs) {
    const auto s = clip_segment(f.lim, {x0, y0}, {x1, y1});
    if (!s) return;
    const Point p = f.px(s->a), q = f.px(s->b);
    const double len = std::hypot(q.x - p.x, q.y - p.y);
    if (!(len > 0)) return;
    const Point u{(q.x - p.x) / len, (q.y - p.y) / len};
    const bool tip = f.lim.contains({x1, y1});
    const double head = tip ? std::min(style.head, 0.6 * len) : 0;
    // The shaft stops inside the head so its square end cannot poke through the sharp tip.
    const Point shaft_end{q.x - u.x * head * 0.7, q.y - u.y * head * 0.7};
    svg.element("line", Attrs()
                            .num("x1", p.x)
                            .num("y1", p.y)
                            .num("x2", shaft_end.x)
                            .num("y2", shaft_end.y)
                            .color("stroke", style.color)
                            .num("stroke-width", style.width));
    trace(obs, p, q);
    if (!tip) return;
    const Point base{q.x - u.x * head, q.y - u.y * head};
    const double w = head * 0.45;
    svg.element("path", Attrs()
                            .str("d", PathData()
                                          .move(q.x, q.y)
                                          .line(base.x - u.y * w, base.y + u.x * w)
                                          .line(base.x + u.y * w, base.y - u.x * w)
                                          .close()
                                          .text())
                            .color("fill", style.color));
    if (style.label.empty()) return;
    // Put the label beyond the tip, anchored on the side the arrow points to.
    const Anchor anchor = u.x > 0.35 ? Anchor::start : (u.x < -0.35 ? Anchor::end : Anchor::middle);
    const double ty = u.y > 0.35 ? q.y + 6 + kLabelFont * 0.8
                                 : (u.y < -0.35 ? q.y - 6 : centred(q.y, kLabelFont));
    const double tx = q.x + u.x * 5;
    svg.text(tx, ty, style.label,
             text_attrs(kLabelFont, style.color, anchor, true)
                 .color("stroke", kWhite)
                 .num("stroke-width", 3)
                 .str("paint-order", "stroke")
                 .str("stroke-linejoin", "round"));
    obs.push_back({tx, ty});
  };
  add(std::move(it));
  return *this;
}

Panel& Panel::text(double x, double y, std::string text, const TextStyle& style) {
  Item it;
  it.draw = [x, y, text = std::move(text), style](const detail::Frame& f, Svg& svg,
                                                  std::vector<Point>& obs) {
    if (!f.lim.contains({x, y})) return;
    const Point p = f.px(x, y);
    Attrs a = text_attrs(style.size, style.color, style.anchor, style.bold);
    if (style.halo)
      a.color("stroke", kWhite)
          .num("stroke-width", 3)
          .str("paint-order", "stroke")
          .str("stroke-linejoin", "round");
    svg.text(p.x + style.dx, p.y + style.dy, text, a);
    obs.push_back({p.x + style.dx, p.y + style.dy});
  };
  add(std::move(it));
  return *this;
}

namespace {
Color shade(const ShadeStyle& s, double v) {
  return s.cmap(s.vmax == s.vmin ? 0.5 : (v - s.vmin) / (s.vmax - s.vmin));
}
}  // namespace

Panel& Panel::contourf(const Grid& g, std::vector<double> levels, const ShadeStyle& style) {
  g.validate();
  if (levels.size() < 2 || !std::is_sorted(levels.begin(), levels.end()) ||
      std::adjacent_find(levels.begin(), levels.end()) != levels.end())
    throw std::invalid_argument("Panel::contourf: levels must be at least two increasing values");
  Item it;
  it.x = {g.x0, g.x1};
  it.y = {g.y0, g.y1};
  it.tight = true;
  // Region k is value >= levels[k] (the whole grid for k = 0); painting them in order leaves
  // each point the colour of its band. Stacking, rather than cutting exact bands, means no two
  // neighbouring bands share an anti-aliased edge, so no background seams show through.
  std::vector<std::pair<Color, std::vector<std::vector<Point>>>> regions;
  regions.push_back({shade(style, (levels[0] + levels[1]) / 2),
                     {{{g.x0, g.y0}, {g.x1, g.y0}, {g.x1, g.y1}, {g.x0, g.y1}}}});
  for (std::size_t k = 1; k + 1 < levels.size(); ++k)
    regions.push_back(
        {shade(style, (levels[k] + levels[k + 1]) / 2), superlevel_polygons(g, levels[k])});
  it.draw = [regions = std::move(regions), style](const detail::Frame& f, Svg& svg,
                                                  std::vector<Point>&) {
    // Opacity on the group composites the stack once, instead of darkening where bands overlap.
    svg.open("g", Attrs().num("opacity", style.opacity));
    for (const auto& [color, polys] : regions) {
      PathData d;
      for (const auto& poly : polys) {
        const auto c = clip_polygon(f.lim, poly);
        if (c.empty()) continue;
        d.move(f.sx(c[0].x), f.sy(c[0].y));
        for (std::size_t k = 1; k < c.size(); ++k) d.line(f.sx(c[k].x), f.sy(c[k].y));
        d.close();
      }
      if (!d.empty()) svg.element("path", Attrs().color("fill", color).str("d", d.text()));
    }
    svg.close();
  };
  add(std::move(it));
  return *this;
}

Panel& Panel::heatmap(const Grid& g, const ShadeStyle& style) {
  g.validate();
  Item it;
  it.x = {g.x0, g.x1};
  it.y = {g.y0, g.y1};
  it.tight = true;
  it.draw = [g, style](const detail::Frame& f, Svg& svg, std::vector<Point>&) {
    const double hx = (g.x1 - g.x0) / static_cast<double>(g.nx - 1) / 2;
    const double hy = (g.y1 - g.y0) / static_cast<double>(g.ny - 1) / 2;
    // crispEdges snaps shared cell edges to the same pixel, so no hairline gaps appear.
    svg.open("g", Attrs().num("opacity", style.opacity).str("shape-rendering", "crispEdges"));
    for (std::size_t j = 0; j < g.ny; ++j) {
      // Cells of equal colour in a row merge into one rectangle.
      for (std::size_t i = 0; i < g.nx;) {
        const double v = g.at(i, j);
        std::size_t e = i + 1;
        if (!std::isnan(v)) {
          const Color c = shade(style, v);
          while (e < g.nx && !std::isnan(g.at(e, j)) && shade(style, g.at(e, j)) == c) ++e;
          const Rect cell{std::max(g.x(i) - hx, g.x0), std::max(g.y(j) - hy, g.y0),
                          std::min(g.x(e - 1) + hx, g.x1), std::min(g.y(j) + hy, g.y1)};
          const double x0 = std::max(cell.x0, f.lim.x0), x1 = std::min(cell.x1, f.lim.x1);
          const double y0 = std::max(cell.y0, f.lim.y0), y1 = std::min(cell.y1, f.lim.y1);
          if (x1 > x0 && y1 > y0)
            svg.element("rect", Attrs()
                                    .num("x", f.sx(x0))
                                    .num("y", f.sy(y1))
                                    .num("width", f.sx(x1) - f.sx(x0))
                                    .num("height", f.sy(y0) - f.sy(y1))
                                    .color("fill", c));
        }
        i = e;
      }
    }
    svg.close();
  };
  add(std::move(it));
  return *this;
}

Panel& Panel::contour(const Grid& g, double level, const LineStyle& style) {
  Item it;
  it.x = {g.x0, g.x1};
  it.y = {g.y0, g.y1};
  it.tight = true;
  if (!style.label.empty()) it.legend.push_back(line_entry(style));
  it.draw = [lines = contour_lines(g, level), style](const detail::Frame& f, Svg& svg,
                                                     std::vector<Point>& obs) {
    draw_polylines(f, svg, lines, stroke_attrs(style), obs);
  };
  add(std::move(it));
  return *this;
}

std::vector<LegendEntry> Panel::legend_entries() const {
  std::vector<LegendEntry> out;
  for (const Item& it : items_) out.insert(out.end(), it.legend.begin(), it.legend.end());
  return out;
}

// ---------------------------------------------------------------------------------------------
Figure::Figure(int rows, int cols, double panel_width, double panel_height)
    : rows_(rows), cols_(cols), pw_(panel_width), ph_(panel_height) {
  if (rows < 1 || cols < 1 || rows * cols > 10000)
    throw std::invalid_argument("Figure: need 1..10000 panels, got " + std::to_string(rows) + "x" +
                                std::to_string(cols));
  if (!(panel_width >= 40) || !(panel_height >= 40) || panel_width > 1e5 || panel_height > 1e5)
    throw std::invalid_argument("Figure: panel size must be 40..100000 pixels");
  panels_.resize(static_cast<std::size_t>(rows * cols));
}

Panel& Figure::panel(int row, int col) {
  if (row < 0 || row >= rows_ || col < 0 || col >= cols_)
    throw std::out_of_range("Figure::panel: (" + std::to_string(row) + ", " + std::to_string(col) +
                            ") outside a " + std::to_string(rows_) + "x" + std::to_string(cols_) +
                            " grid");
  return panels_[static_cast<std::size_t>(row * cols_ + col)];
}

Panel& Figure::panel(int index) {
  if (index < 0 || index >= rows_ * cols_)
    throw std::out_of_range("Figure::panel: index " + std::to_string(index) + " outside " +
                            std::to_string(rows_ * cols_) + " panels");
  return panels_[static_cast<std::size_t>(index)];
}

Figure& Figure::title(std::string text) {
  title_ = std::move(text);
  return *this;
}
Figure& Figure::legend(std::vector<LegendEntry> entries) {
  legend_ = std::move(entries);
  return *this;
}
Figure& Figure::colorbar(ColorBar bar) {
  if (!(bar.vmin < bar.vmax) || !std::isfinite(bar.vmax - bar.vmin))
    throw std::invalid_argument("Figure::colorbar: need finite vmin < vmax, got " +
                                fmt(bar.vmin, 6) + ", " + fmt(bar.vmax, 6));
  colorbar_ = std::move(bar);
  return *this;
}
Figure& Figure::share_axes(bool x, bool y) {
  share_x_ = x;
  share_y_ = y;
  return *this;
}

std::string Figure::svg() const { return render(true, {}); }
std::string Figure::svg_inline(const Attrs& root_attrs) const { return render(false, root_attrs); }
void Figure::save(const std::filesystem::path& path) const { write_file_atomic(path, svg()); }

namespace {

struct Limits {
  Interval x, y;
};

// A tick's text: log ticks carry step 0.
std::string label_of(double v, const Ticks& t) {
  return t.step == 0 ? log_tick_label(v) : tick_label(v, t.step);
}

// Ticks sparse enough that their labels never touch.
Ticks x_ticks(const Interval& lim, double px, bool labels, bool log) {
  int n = std::max(2, static_cast<int>(px / 50));
  for (;; --n) {
    Ticks t = log ? log_ticks(lim.lo, lim.hi, n) : nice_ticks(lim.lo, lim.hi, n);
    if (n <= 2 || !labels || t.values.size() < 2) return t;
    double w = 0;
    for (const double v : t.values) w = std::max(w, text_width(label_of(v, t), kTickFont));
    const Scale s{lim.lo, lim.hi, 0, px, log};
    double gap = px;
    for (std::size_t k = 1; k < t.values.size(); ++k)
      gap = std::min(gap, s(t.values[k]) - s(t.values[k - 1]));
    if (gap >= w + 12) return t;
  }
}

Ticks y_ticks(const Interval& lim, double px, bool log) {
  const int n = std::max(2, static_cast<int>(px / 38));
  return log ? log_ticks(lim.lo, lim.hi, n) : nice_ticks(lim.lo, lim.hi, n);
}

// A vertical legend box inside the plot area at the corner that hides the fewest drawn points.
void draw_panel_legend(Svg& svg, const std::vector<LegendEntry>& entries, LegendPos pos,
                       const Rect& box, const std::vector<Point>& obstacles) {
  if (entries.empty() || pos == LegendPos::none) return;
  double tw = 0;
  for (const auto& e : entries) tw = std::max(tw, text_width(e.text, kLegendFont));
  const double w = 6 + kSwatch + 6 + tw + 8,
               h = 5 + kLegendRow * static_cast<double>(entries.size()) + 3;
  constexpr double inset = 6;
  auto origin = [&](LegendPos p) -> Point {
    switch (p) {
      case LegendPos::top_left:
        return {box.x0 + inset, box.y0 + inset};
      case LegendPos::bottom_left:
        return {box.x0 + inset, box.y1 - inset - h};
      case LegendPos::bottom_right:
        return {box.x1 - inset - w, box.y1 - inset - h};
      default:
        return {box.x1 - inset - w, box.y0 + inset};
    }
  };
  if (pos == LegendPos::best) {
    std::size_t fewest = std::numeric_limits<std::size_t>::max();
    for (const LegendPos p : {LegendPos::top_right, LegendPos::top_left, LegendPos::bottom_left,
                              LegendPos::bottom_right}) {
      const Point o = origin(p);
      const Rect r{o.x - 4, o.y - 4, o.x + w + 4, o.y + h + 4};
      const auto n = static_cast<std::size_t>(std::count_if(
          obstacles.begin(), obstacles.end(), [&](Point q) { return r.contains(q); }));
      if (n < fewest) {
        fewest = n;
        pos = p;
      }
    }
  }
  const Point o = origin(pos);
  svg.open("g", Attrs().str("class", "legend"));
  svg.element("rect", Attrs()
                          .num("x", o.x)
                          .num("y", o.y)
                          .num("width", w)
                          .num("height", h)
                          .num("rx", 3)
                          .color("fill", kWhite)
                          .num("fill-opacity", 0.88)
                          .color("stroke", Color::hex(0xcccccc)));
  double y = o.y + 5 + kLegendRow / 2;
  for (const auto& e : entries) {
    draw_swatch(svg, e, o.x + 6, y);
    svg.text(o.x + 6 + kSwatch + 6, centred(y, kLegendFont), e.text,
             text_attrs(kLegendFont, kInk, Anchor::start));
    y += kLegendRow;
  }
  svg.close();
}

// A vertical colour bar in box (pixels): vmin at the bottom, ticks and labels on the right.
void draw_colorbar(Svg& svg, const ColorBar& bar, const Rect& box) {
  constexpr int kSteps = 64;
  svg.open("g", Attrs().str("class", "colorbar").str("shape-rendering", "crispEdges"));
  const double step = (box.y1 - box.y0) / kSteps;
  for (int k = 0; k < kSteps; ++k) {
    const Color c = mix(kWhite, bar.cmap((k + 0.5) / kSteps), bar.opacity);
    svg.element("rect", Attrs()
                            .num("x", box.x0)
                            .num("y", box.y1 - (k + 1) * step)
                            .num("width", box.x1 - box.x0)
                            .num("height", step + 0.3)
                            .color("fill", c));
  }
  svg.close();
  svg.element("rect", Attrs()
                          .num("x", box.x0)
                          .num("y", box.y0)
                          .num("width", box.x1 - box.x0)
                          .num("height", box.y1 - box.y0)
                          .str("fill", "none")
                          .color("stroke", kFrame));
  const Scale s{bar.vmin, bar.vmax, box.y1, box.y0};
  const Ticks t =
      nice_ticks(bar.vmin, bar.vmax, std::max(2, static_cast<int>((box.y1 - box.y0) / 38)));
  PathData ticks;
  double label_w = 0;
  for (const double v : t.values) ticks.move(box.x1, s(v)).line(box.x1 + 4, s(v));
  if (!ticks.empty())
    svg.element("path", Attrs().str("d", ticks.text()).color("stroke", kFrame).str("fill", "none"));
  svg.open("g", text_attrs(kTickFont, kTickInk, Anchor::start));
  for (const double v : t.values) {
    svg.text(box.x1 + 7, centred(s(v), kTickFont), tick_label(v, t.step));
    label_w = std::max(label_w, text_width(tick_label(v, t.step), kTickFont));
  }
  svg.close();
  if (!bar.label.empty()) {
    const double x = box.x1 + 7 + label_w + 10, cy = (box.y0 + box.y1) / 2;
    svg.text(x, cy, bar.label,
             text_attrs(kLabelFont, kInk, Anchor::middle)
                 .str("transform", "rotate(-90 " + fmt(x) + ' ' + fmt(cy) + ')'));
  }
}

}  // namespace

std::string Figure::render(bool prolog, const Attrs& root_attrs) const {
  const std::size_t n = panels_.size();

  // 1. Limits: fixed, or from the data; then shared; then stretched for equal aspect.
  std::vector<Limits> lims(n);
  for (std::size_t p = 0; p < n; ++p) {
    const Panel& pan = panels_[p];
    const bool log[2] = {pan.xlog_, pan.ylog_};
    Interval loose[2] = {{1, -1}, {1, -1}}, tight[2] = {{1, -1}, {1, -1}};
    for (const auto& it : pan.items_) {
      const Interval ext[2] = {
          log[0] ? positive_part(unite(it.xpos, it.tight ? it.x : it.xpos)) : it.x,
          log[1] ? positive_part(unite(it.ypos, it.tight ? it.y : it.ypos)) : it.y};
      for (int a = 0; a < 2; ++a)
        (it.tight ? tight : loose)[a] = unite((it.tight ? tight : loose)[a], ext[a]);
    }
    auto resolve = [](const Interval& l, const Interval& t, bool lg) {
      if (empty(l)) return empty(t) ? (lg ? Interval{0.1, 1} : padded(1, -1)) : t;
      return unite(lg ? padded_log(l) : padded(l.lo, l.hi), t);
    };
    lims[p] = {resolve(loose[0], tight[0], log[0]), resolve(loose[1], tight[1], log[1])};
  }
  if (share_x_ || share_y_) {
    Limits all{{1, -1}, {1, -1}};
    for (std::size_t p = 0; p < n; ++p) {
      if (!panels_[p].xlim_) all.x = unite(all.x, lims[p].x);
      if (!panels_[p].ylim_) all.y = unite(all.y, lims[p].y);
    }
    for (std::size_t p = 0; p < n; ++p) {
      if (share_x_ && !empty(all.x)) lims[p].x = all.x;
      if (share_y_ && !empty(all.y)) lims[p].y = all.y;
    }
  }
  for (std::size_t p = 0; p < n; ++p) {
    if (panels_[p].xlim_) lims[p].x = *panels_[p].xlim_;
    if (panels_[p].ylim_) lims[p].y = *panels_[p].ylim_;
    if (panels_[p].equal_ && !panels_[p].xlog_ && !panels_[p].ylog_) {
      // Widen the axis that has pixels to spare until both have the same pixels per unit.
      Interval& x = lims[p].x;
      Interval& y = lims[p].y;
      const double ppu = std::min(pw_ / (x.hi - x.lo), ph_ / (y.hi - y.lo));
      const double wx = pw_ / ppu, wy = ph_ / ppu, cx = (x.lo + x.hi) / 2, cy = (y.lo + y.hi) / 2;
      x = {cx - wx / 2, cx + wx / 2};
      y = {cy - wy / 2, cy + wy / 2};
    }
  }

  // 2. Ticks, then margins wide enough for the widest labels of any panel, so the grid aligns.
  std::vector<Ticks> xt(n), yt(n);
  double ytick_w = 0;
  bool any_title = false, any_xlabel = false, any_ylabel = false, any_xticks = false,
       any_yticks = false;
  for (std::size_t p = 0; p < n; ++p) {
    const Panel& pan = panels_[p];
    xt[p] = x_ticks(lims[p].x, pw_, pan.xticklabels_, pan.xlog_);
    yt[p] = y_ticks(lims[p].y, ph_, pan.ylog_);
    if (pan.yticklabels_)
      for (const double v : yt[p].values)
        ytick_w = std::max(ytick_w, text_width(label_of(v, yt[p]), kTickFont));
    any_title |= !pan.title_.empty();
    any_xlabel |= !pan.xlabel_.empty();
    any_ylabel |= !pan.ylabel_.empty();
    any_xticks |= pan.xticklabels_;
    any_yticks |= pan.yticklabels_;
  }
  const double m_left = (any_ylabel ? 20 : 0) + (any_yticks ? ytick_w + 10 : 4) + 4;
  const double m_right = 14;
  const double m_top = any_title ? 24 : 8;
  const double m_bottom = (any_xticks ? 20 : 6) + (any_xlabel ? 18 : 0) + 4;
  const double cell_w = m_left + pw_ + m_right, cell_h = m_top + ph_ + m_bottom;
  constexpr double pad = 6;
  double header = pad;
  if (!title_.empty()) header += 26;
  if (!legend_.empty()) header += 22;
  // The colour bar's column: a gap, the bar, its tick labels and its label.
  const double bar_w = colorbar_ ? 86 : 0;
  const double width = 2 * pad + cell_w * cols_ + bar_w, height = header + cell_h * rows_ + pad;

  Svg svg(width, height);
  svg.element("rect", Attrs().num("width", width).num("height", height).color("fill", kWhite));
  double y = pad;
  if (!title_.empty()) {
    svg.text(width / 2, y + 17, title_, text_attrs(kFigTitleFont, kInk, Anchor::middle, true));
    y += 26;
  }
  if (!legend_.empty()) {
    // One centred row: swatch, text, gap, swatch, text ...
    double total = 0;
    for (const auto& e : legend_) total += kSwatch + 5 + text_width(e.text, kLegendFont) + 18;
    total -= 18;
    double x = std::max(pad, (width - total) / 2);
    const double cy = y + 10;
    for (const auto& e : legend_) {
      draw_swatch(svg, e, x, cy);
      x += kSwatch + 5;
      svg.text(x, centred(cy, kLegendFont), e.text, text_attrs(kLegendFont, kInk, Anchor::start));
      x += text_width(e.text, kLegendFont) + 18;
    }
  }

  // 3. Panels.
  for (std::size_t p = 0; p < n; ++p) {
    const Panel& pan = panels_[p];
    const double left =
        pad + cell_w * static_cast<double>(p % static_cast<std::size_t>(cols_)) + m_left;
    const double top =
        header + cell_h * static_cast<double>(p / static_cast<std::size_t>(cols_)) + m_top;
    const Rect box{left, top, left + pw_, top + ph_};
    detail::Frame f{{lims[p].x.lo, lims[p].y.lo, lims[p].x.hi, lims[p].y.hi},
                    {lims[p].x.lo, lims[p].x.hi, box.x0, box.x1, pan.xlog_},
                    {lims[p].y.lo, lims[p].y.hi, box.y1, box.y0, pan.ylog_}};
    svg.open("g", Attrs().str("class", "panel"));
    if (!pan.title_.empty())
      svg.text((box.x0 + box.x1) / 2, top - 8, pan.title_,
               text_attrs(kTitleFont, kInk, Anchor::middle, true));

    // Grid lines under the data; the frame, ticks and labels over it.
    PathData grid;
    for (const double v : xt[p].values) grid.move(f.sx(v), box.y0).line(f.sx(v), box.y1);
    for (const double v : yt[p].values) grid.move(box.x0, f.sy(v)).line(box.x1, f.sy(v));
    if (!grid.empty())
      svg.element("path", Attrs().str("d", grid.text()).color("stroke", kGrid).str("fill", "none"));
    if (pan.zero_lines_) {
      PathData z;
      if (!pan.xlog_ && f.lim.x0 < 0 && f.lim.x1 > 0) z.move(f.sx(0), box.y0).line(f.sx(0), box.y1);
      if (!pan.ylog_ && f.lim.y0 < 0 && f.lim.y1 > 0) z.move(box.x0, f.sy(0)).line(box.x1, f.sy(0));
      if (!z.empty())
        svg.element("path", Attrs().str("d", z.text()).color("stroke", kZero).str("fill", "none"));
    }
    std::vector<Point> obstacles;
    for (const auto& it : pan.items_) it.draw(f, svg, obstacles);
    svg.element("rect", Attrs()
                            .num("x", box.x0)
                            .num("y", box.y0)
                            .num("width", pw_)
                            .num("height", ph_)
                            .str("fill", "none")
                            .color("stroke", kFrame));

    PathData ticks;
    for (const double v : xt[p].values) ticks.move(f.sx(v), box.y1).line(f.sx(v), box.y1 + 4);
    for (const double v : yt[p].values) ticks.move(box.x0 - 4, f.sy(v)).line(box.x0, f.sy(v));
    if (!ticks.empty())
      svg.element("path",
                  Attrs().str("d", ticks.text()).color("stroke", kFrame).str("fill", "none"));
    if (pan.xticklabels_) {
      svg.open("g", text_attrs(kTickFont, kTickInk, Anchor::middle));
      for (const double v : xt[p].values) svg.text(f.sx(v), box.y1 + 16, label_of(v, xt[p]));
      svg.close();
    }
    if (pan.yticklabels_) {
      svg.open("g", text_attrs(kTickFont, kTickInk, Anchor::end));
      for (const double v : yt[p].values)
        svg.text(box.x0 - 7, centred(f.sy(v), kTickFont), label_of(v, yt[p]));
      svg.close();
    }
    if (!pan.xlabel_.empty())
      svg.text((box.x0 + box.x1) / 2, box.y1 + (pan.xticklabels_ ? 20 : 6) + 15, pan.xlabel_,
               text_attrs(kLabelFont, kInk, Anchor::middle));
    if (!pan.ylabel_.empty()) {
      const double x = box.x0 - (pan.yticklabels_ ? ytick_w + 10 : 4) - 8;
      const double cy = (box.y0 + box.y1) / 2;
      svg.text(x, cy, pan.ylabel_,
               text_attrs(kLabelFont, kInk, Anchor::middle)
                   .str("transform", "rotate(-90 " + fmt(x) + ' ' + fmt(cy) + ')'));
    }
    draw_panel_legend(svg, pan.legend_entries(), pan.legend_, box, obstacles);
    svg.close();
  }
  if (colorbar_) {
    // Beside the plot areas, as tall as one panel (at most 320 px), centred on them.
    const double top = header + m_top, bottom = header + cell_h * (rows_ - 1) + m_top + ph_;
    const double h = std::min(320.0, std::min(ph_, bottom - top));
    draw_colorbar(svg, *colorbar_,
                  {width - pad - bar_w + 8, (top + bottom - h) / 2, width - pad - bar_w + 22,
                   (top + bottom + h) / 2});
  }
  return svg.document(title_.empty() ? "figure" : title_, prolog, root_attrs);
}

}  // namespace affine::viz
