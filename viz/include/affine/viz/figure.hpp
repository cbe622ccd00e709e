// Figures made of panels (small multiples on a grid). A panel collects primitives in data
// coordinates; limits, ticks and layout are decided only when the figure is rendered, so auto
// limits see all the data and shared axes see all the panels.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "affine/viz/axes.hpp"
#include "affine/viz/colormap.hpp"
#include "affine/viz/contour.hpp"
#include "affine/viz/geometry.hpp"
#include "affine/viz/svg.hpp"

namespace affine::viz {

enum class Marker { circle, square, triangle, diamond };
enum class LegendPos { best, top_right, top_left, bottom_left, bottom_right, none };
enum class Anchor { start, middle, end };

// Sizes are in pixels, colours in sRGB; `label`, when set, makes a legend entry.
struct ScatterStyle {
  Color color = palette::blue;
  Marker marker = Marker::circle;
  double size = 3.5;  // marker radius
  double opacity = 0.85;
  std::string label{};
};

// Scatter coloured by integer class: class k gets class_color(k) and, with `shapes`, its own
// marker (circle, square, triangle, diamond), so the classes differ in more than hue.
struct ClassStyle {
  std::vector<std::string> names{};  // legend text for class k; "class k" when missing
  double size = 3.5;
  double opacity = 0.85;
  bool shapes = true;
  // A thin white outline keeps sparse markers apart; turn it off with a low opacity, so stacked
  // points darken with their number (a density cue) instead of turning white.
  bool outline = true;
};

struct LineStyle {
  Color color = palette::black;
  double width = 1.5;
  std::string dash{};  // SVG stroke-dasharray, e.g. "6 3"; empty for solid
  double opacity = 1.0;
  std::string label{};
};

struct ArrowStyle {
  Color color = palette::black;
  double width = 1.8;
  double head = 9;      // head length
  std::string label{};  // drawn just beyond the tip
};

struct TextStyle {
  Color color = Color::hex(0x222222);
  double size = 11;
  Anchor anchor = Anchor::start;
  double dx = 0, dy = 0;  // pixel offset from the anchor point (dy > 0 moves down)
  bool bold = false;
  bool halo = true;  // a white outline so text stays legible over data
};

// Shading of a scalar field: values vmin..vmax map to cmap(0..1), drawn at `opacity`.
struct ShadeStyle {
  Colormap cmap = Colormap::blue_orange();
  double vmin = 0, vmax = 1;
  double opacity = 0.4;
};

struct LegendEntry {
  enum class Kind { marker, line, patch };
  Kind kind = Kind::marker;
  Color color = palette::black;
  Marker marker = Marker::circle;
  double width = 1.5;  // line width for Kind::line
  std::string dash{};
  std::string text{};
};

// A colour bar: the key from shading colour to value, drawn as a vertical bar right of the panels.
// Use the cmap, range and opacity of the shading it explains.
struct ColorBar {
  Colormap cmap = Colormap::blue_orange();
  double vmin = 0, vmax = 1;
  double opacity = 1.0;  // the shading's opacity over white, so the bar shows the same colours
  std::string label{};   // written along the bar, e.g. "p(class 1)"
};

class Figure;
namespace detail {
struct Frame;  // a panel's limits and scales, known only at render time
}

class Panel {
 public:
  Panel& title(std::string text);
  Panel& xlabel(std::string text);
  Panel& ylabel(std::string text);
  Panel& xlim(double lo, double hi);  // fixed limits; otherwise from the data, padded 5 %
  Panel& ylim(double lo, double hi);
  Panel& equal_aspect(bool on = true);  // one data unit is as long on x as on y
  Panel& tick_labels(bool x, bool y);   // hide the numbers on inner panels of a grid
  Panel& zero_lines(bool on = true);    // grey x = 0 and y = 0 lines, to show where the origin is
  // A logarithmic axis: limits and ticks in powers of ten; values <= 0 are not drawn on it.
  Panel& xlog(bool on = true);
  Panel& ylog(bool on = true);
  Panel& legend(LegendPos pos);  // default: best, the corner covering the least data

  Panel& scatter(std::span<const double> xs, std::span<const double> ys,
                 const ScatterStyle& style = {});
  Panel& scatter(std::span<const double> xs, std::span<const double> ys,
                 std::span<const int> classes, const ClassStyle& style = {});
  // A polyline; NaN vertices leave gaps.
  Panel& line(std::span<const double> xs, std::span<const double> ys, const LineStyle& style = {});
  // The line a*x + b*y + c = 0 across the whole panel.
  Panel& infinite_line(double a, double b, double c, const LineStyle& style = {});
  Panel& arrow(double x0, double y0, double x1, double y1, const ArrowStyle& style = {});
  Panel& text(double x, double y, std::string text, const TextStyle& style = {});
  // Filled contour: band [levels[k], levels[k+1]] is shaded with the colour of its middle value.
  // Values outside the levels take the end bands. The shading does not count for legend "best".
  Panel& contourf(const Grid& g, std::vector<double> levels, const ShadeStyle& style = {});
  // Each node's value as a cell of colour (no interpolation).
  Panel& heatmap(const Grid& g, const ShadeStyle& style = {});
  // The curve value == level (marching squares).
  Panel& contour(const Grid& g, double level, const LineStyle& style = {});

  // The entries this panel's legend would show, e.g. to hand one set to Figure::legend().
  std::vector<LegendEntry> legend_entries() const;

 private:
  friend class Figure;
  struct Item {
    Interval x{1, -1}, y{1, -1};        // data extent (empty when lo > hi)
    Interval xpos{1, -1}, ypos{1, -1};  // extent of the positive values, for log axes
    bool tight = false;                 // extent used as-is, without padding (grids)
    std::vector<LegendEntry> legend;
    // Draws into the SVG and records pixel points it covered, for legend placement.
    std::function<void(const detail::Frame&, Svg&, std::vector<Point>&)> draw;
  };
  void add(Item item) { items_.push_back(std::move(item)); }

  std::string title_, xlabel_, ylabel_;
  std::optional<Interval> xlim_, ylim_;
  bool equal_ = false, xticklabels_ = true, yticklabels_ = true, zero_lines_ = false;
  bool xlog_ = false, ylog_ = false;
  LegendPos legend_ = LegendPos::best;
  std::vector<Item> items_;
};

// rows x cols panels of panel_width x panel_height pixels of plot area each, plus margins.
class Figure {
 public:
  Figure(int rows = 1, int cols = 1, double panel_width = 320, double panel_height = 260);

  Panel& panel(int row, int col);
  Panel& panel(int index);  // row-major
  int rows() const { return rows_; }
  int cols() const { return cols_; }

  Figure& title(std::string text);  // also the SVG <title>
  // A legend row under the title, for entries that all panels share.
  Figure& legend(std::vector<LegendEntry> entries);
  // Panels without fixed limits take the union of their auto limits on that axis.
  Figure& share_axes(bool x = true, bool y = true);
  // A colour bar right of the panels; throws std::invalid_argument unless vmin < vmax (finite).
  Figure& colorbar(ColorBar bar);

  std::string svg() const;  // a standalone SVG document, XML prolog included
  // Just the <svg> element, to place inside HTML; `root_attrs` go on it (a class, data-epoch).
  std::string svg_inline(const Attrs& root_attrs = {}) const;
  void save(const std::filesystem::path& path) const;  // svg(), written atomically

 private:
  std::string render(bool prolog, const Attrs& root_attrs) const;

  int rows_, cols_;
  double pw_, ph_;
  std::string title_;
  std::vector<LegendEntry> legend_;
  std::optional<ColorBar> colorbar_;
  bool share_x_ = false, share_y_ = false;
  std::vector<Panel> panels_;
};

}  // namespace affine::viz
