// Tests for viz/: ticks, scales, clipping, marching squares, escaping, determinism,
// well-formed output and atomic file writes.
#include <gtest/gtest.h>

#include <clocale>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "affine/viz/viz.hpp"

namespace fs = std::filesystem;
using namespace affine::viz;

namespace {

// A minimal well-formedness check: tags balance and nest, attribute values are quoted, and
// character data holds no raw '<' and no '&' outside an entity. Returns "" when fine.
std::string xml_problem(const std::string& s) {
  std::vector<std::string> stack;
  std::size_t i = 0;
  bool root_seen = false;
  while (i < s.size()) {
    if (s[i] != '<') {
      if (s[i] == '&') {
        const auto semi = s.find(';', i);
        if (semi == std::string::npos || semi - i > 6) return "bare & at " + std::to_string(i);
      }
      if (s[i] == '>') return "bare > at " + std::to_string(i);
      ++i;
      continue;
    }
    if (s.compare(i, 5, "<?xml") == 0) {
      if (i != 0) return "prolog not at start";
      i = s.find("?>", i) + 2;
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {
      const auto e = s.find("-->", i + 4);
      if (e == std::string::npos) return "unterminated comment";
      i = e + 3;
      continue;
    }
    // Find the end of the tag, skipping quoted attribute values.
    std::size_t j = i + 1;
    char quote = 0;
    for (; j < s.size(); ++j) {
      if (quote) {
        if (s[j] == quote)
          quote = 0;
        else if (s[j] == '<')
          return "< inside attribute at " + std::to_string(j);
      } else if (s[j] == '"' || s[j] == '\'') {
        quote = s[j];
      } else if (s[j] == '>') {
        break;
      }
    }
    if (j >= s.size()) return "unterminated tag at " + std::to_string(i);
    std::string tag = s.substr(i + 1, j - i - 1);
    if (tag.empty()) return "empty tag";
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
      stack.pop_back();
    } else {
      const bool self = tag.back() == '/';
      const std::string name = tag.substr(0, tag.find_first_of(" /\n\t"));
      if (stack.empty()) {
        if (root_seen) return "second root element <" + name + ">";
        root_seen = true;
      }
      if (!self) stack.push_back(name);
    }
    i = j + 1;
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (!root_seen) return "no root element";
  return "";
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// A figure using every primitive.
Figure sample_figure() {
  std::mt19937 rng(7);
  std::normal_distribution<double> nd(0, 0.1);
  std::vector<double> xs, ys;
  std::vector<int> cls;
  for (int i = 0; i < 100; ++i) {
    const double t = std::numbers::pi * (i % 50) / 49.0;
    const int c = i / 50;
    xs.push_back(c ? 1 - std::cos(t) : std::cos(t));
    ys.push_back((c ? 0.5 - std::sin(t) : std::sin(t)) + nd(rng));
    cls.push_back(c);
  }
  Figure fig(2, 2, 200, 160);
  fig.title("Every <primitive> & more");
  const Grid g = Grid::sample(-1.5, 2.5, 30, -1, 1.5, 25, [](double x, double y) {
    return 1 / (1 + std::exp(4 * (y - 0.3 * x)));
  });
  fig.panel(0).title("scatter").xlabel("x").ylabel("y").scatter(xs, ys, cls, {.names = {"a", "b"}});
  fig.panel(1)
      .contourf(g, {0, .25, .5, .75, 1})
      .contour(g, 0.5, {.label = "p = 0.5"})
      .scatter(xs, ys, {.label = "all"});
  fig.panel(2)
      .heatmap(g)
      .infinite_line(1, -1, 0.2, {.dash = "4 2", .label = "w.z + b = 0"})
      .arrow(0, 0, 1, 0.5, {.label = "W e1"})
      .zero_lines()
      .equal_aspect();
  const std::vector<double> ep{0, 1, 2, 3}, loss{0.7, 0.4, 0.2, std::nan("")};
  fig.panel(3)
      .line(ep, loss, {.label = "train"})
      .text(1.5, 0.5, "note \"quoted\"")
      .legend(LegendPos::top_left);
  fig.legend(fig.panel(0).legend_entries());
  return fig;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() /
                     ("affine_viz_test_" + name + "_" +
                      std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace

TEST(VizFormat, FixedPrecisionAndNoNegativeZero) {
  EXPECT_EQ(fmt(1.5), "1.5");
  EXPECT_EQ(fmt(2.0), "2");
  EXPECT_EQ(fmt(0.126), "0.13");
  EXPECT_EQ(fmt(0.125), "0.12");  // exactly representable: to_chars rounds half to even
  EXPECT_EQ(fmt(-0.001), "0");
  EXPECT_EQ(fmt(-0.0), "0");
  EXPECT_EQ(fmt(std::nan("")), "0");
  EXPECT_EQ(fmt(1234567.891), "1234567.89");
  EXPECT_EQ(fixed(0.5, 2), "0.50");
  EXPECT_EQ(fixed(-0.0001, 2), "0.00");
}

TEST(VizFormat, IgnoresTheLocale) {
  const char* old = std::setlocale(LC_NUMERIC, nullptr);
  const std::string saved = old ? old : "C";
  const bool switched = std::setlocale(LC_NUMERIC, "de_DE.UTF-8") != nullptr ||
                        std::setlocale(LC_NUMERIC, "fr_FR.UTF-8") != nullptr;
  EXPECT_EQ(fmt(1.5), "1.5");
  EXPECT_EQ(tick_label(0.5, 0.5), "0.5");
  std::setlocale(LC_NUMERIC, saved.c_str());
  if (!switched) GTEST_SKIP() << "no comma-decimal locale installed; checked under C only";
}

TEST(VizEscape, EscapesMarkupAndControlCharacters) {
  EXPECT_EQ(xml_escape("a<b & \"c\" 'd' >"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39; &gt;");
  EXPECT_EQ(xml_escape(std::string("x\x01y\tz")), "x?y\tz");
  EXPECT_EQ(xml_escape("W e₁"), "W e₁");  // UTF-8 passes through
}

TEST(VizTicks, NiceStepsInsideTheRange) {
  auto t = nice_ticks(0, 1, 6);
  ASSERT_EQ(t.values.size(), 6u);
  EXPECT_DOUBLE_EQ(t.step, 0.2);
  EXPECT_DOUBLE_EQ(t.values.front(), 0);
  EXPECT_DOUBLE_EQ(t.values.back(), 1);

  t = nice_ticks(-1.05, 1.05, 4);
  EXPECT_EQ(t.values, (std::vector<double>{-1, 0, 1}));

  t = nice_ticks(0, 150, 5);
  EXPECT_EQ(t.values, (std::vector<double>{0, 50, 100, 150}));

  t = nice_ticks(0.93, 1.002, 5);
  EXPECT_DOUBLE_EQ(t.step, 0.02);
  EXPECT_EQ(tick_label(t.values.front(), t.step), "0.94");
}

TEST(VizTicks, NeverMoreThanAskedAndAlwaysRound) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-1000, 1000);
  std::uniform_int_distribution<int> e(-6, 6);
  for (int trial = 0; trial < 2000; ++trial) {
    const double scale = std::pow(10.0, e(rng));
    double lo = u(rng) * scale, hi = u(rng) * scale;
    if (lo > hi) std::swap(lo, hi);
    if (hi - lo < 1e-12 * scale) continue;
    const int max_ticks = 2 + trial % 9;
    const Ticks t = nice_ticks(lo, hi, max_ticks);
    ASSERT_LE(static_cast<int>(t.values.size()), max_ticks) << lo << " " << hi;
    ASSERT_GE(t.values.size(), 1u) << lo << " " << hi;
    const double m = t.step / std::pow(10.0, std::floor(std::log10(t.step) + 1e-9));
    EXPECT_TRUE(std::abs(m - 1) < 1e-9 || std::abs(m - 2) < 1e-9 || std::abs(m - 5) < 1e-9) << m;
    for (const double v : t.values) {
      EXPECT_GE(v, lo - 1e-9 * t.step);
      EXPECT_LE(v, hi + 1e-9 * t.step);
    }
  }
}

TEST(VizTicks, LabelsUseTheStepsDecimals) {
  EXPECT_EQ(tick_label(0.6000000000000001, 0.2), "0.6");
  EXPECT_EQ(tick_label(1.0, 0.5), "1.0");
  EXPECT_EQ(tick_label(-0.0, 0.5), "0.0");
  EXPECT_EQ(tick_label(40, 20), "40");
  EXPECT_EQ(tick_label(0.0003, 0.0001), "0.0003");
}

TEST(VizScale, MapsDataToPixelsAndBack) {
  const Scale x{-1, 3, 50, 250};
  EXPECT_DOUBLE_EQ(x(-1), 50);
  EXPECT_DOUBLE_EQ(x(3), 250);
  EXPECT_DOUBLE_EQ(x(1), 150);
  EXPECT_DOUBLE_EQ(x.inverse(150), 1);
  const Scale y{0, 1, 300, 100};  // y up in data, down in SVG
  EXPECT_DOUBLE_EQ(y(0), 300);
  EXPECT_DOUBLE_EQ(y(1), 100);
  EXPECT_DOUBLE_EQ(y(0.25), 250);
}

TEST(VizClip, Segments) {
  const Rect r{0, 0, 1, 1};
  auto s = clip_segment(r, {0.2, 0.2}, {0.8, 0.5});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->a, (Point{0.2, 0.2}));
  EXPECT_EQ(s->b, (Point{0.8, 0.5}));
  s = clip_segment(r, {-1, 0.5}, {2, 0.5});
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->a.x, 0);
  EXPECT_DOUBLE_EQ(s->b.x, 1);
  EXPECT_FALSE(clip_segment(r, {-1, -1}, {-0.5, 2}));
  EXPECT_FALSE(clip_segment(r, {2, 0}, {3, 1}));
}

TEST(VizClip, InfiniteLines) {
  const Rect r{-1, -1, 1, 1};
  auto s = clip_line(r, 1, 0, -0.5);  // x = 0.5
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->a.x, 0.5);
  EXPECT_DOUBLE_EQ(s->b.x, 0.5);
  EXPECT_DOUBLE_EQ(std::min(s->a.y, s->b.y), -1);
  EXPECT_DOUBLE_EQ(std::max(s->a.y, s->b.y), 1);

  s = clip_line(r, 1, -1, 0);  // y = x, corner to corner
  ASSERT_TRUE(s);
  EXPECT_NEAR(std::abs(s->a.x - s->b.x), 2, 1e-12);
  for (const Point p : {s->a, s->b}) EXPECT_NEAR(p.x, p.y, 1e-12);

  s = clip_line(r, 2, 1, -0.5);  // both ends on the boundary, the line on the line
  ASSERT_TRUE(s);
  for (const Point p : {s->a, s->b}) {
    EXPECT_NEAR(2 * p.x + p.y - 0.5, 0, 1e-12);
    EXPECT_TRUE(std::abs(std::abs(p.x) - 1) < 1e-12 || std::abs(std::abs(p.y) - 1) < 1e-12);
  }
  EXPECT_FALSE(clip_line(r, 0, 1, -5));  // y = 5 misses
  EXPECT_FALSE(clip_line(r, 0, 0, 1));   // not a line
}

TEST(VizClip, PolylinesSplitWhereTheyLeave) {
  const Rect r{0, 0, 1, 1};
  const std::vector<Point> zig{{0.1, 0.5}, {0.5, 2}, {0.9, 0.5}, {0.95, 0.6}};
  const auto runs = clip_polyline(r, zig);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].front(), (Point{0.1, 0.5}));
  EXPECT_DOUBLE_EQ(runs[0].back().y, 1);
  EXPECT_DOUBLE_EQ(runs[1].front().y, 1);
  EXPECT_EQ(runs[1].back(), (Point{0.95, 0.6}));
  EXPECT_EQ(runs[1].size(), 3u);

  const std::vector<Point> gap{{0.1, 0.1}, {0.2, 0.2}, {std::nan(""), 0}, {0.3, 0.3}, {0.4, 0.4}};
  EXPECT_EQ(clip_polyline(r, gap).size(), 2u);
}

TEST(VizClip, Polygons) {
  const Rect r{0, 0, 1, 1};
  const auto c = clip_polygon(r, {{-1, -1}, {2, -1}, {2, 2}, {-1, 2}});
  ASSERT_EQ(c.size(), 4u);
  double area = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const Point p = c[i], q = c[(i + 1) % c.size()];
    area += p.x * q.y - q.x * p.y;
  }
  EXPECT_DOUBLE_EQ(area / 2, 1);
  EXPECT_TRUE(clip_polygon(r, {{2, 2}, {3, 2}, {3, 3}}).empty());
}

namespace {
Grid circle_field() {
  return Grid::sample(-2, 2, 41, -2, 2, 41, [](double x, double y) { return x * x + y * y; });
}
double polygon_area(const std::vector<Point>& p) {
  double a = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const Point u = p[i], v = p[(i + 1) % p.size()];
    a += u.x * v.y - v.x * u.y;
  }
  return a / 2;
}
}  // namespace

TEST(VizContour, MarchingSquaresTracesTheUnitCircle) {
  const Grid g = circle_field();
  const auto segs = marching_squares(g, 1.0);
  ASSERT_GT(segs.size(), 40u);
  // Linear interpolation of x^2 + y^2 across a cell of side h is off by at most about h^2 / 4.
  const double h = 0.1;
  for (const auto& s : segs)
    for (const Point p : {s.a, s.b})
      EXPECT_NEAR(std::hypot(p.x, p.y), 1.0, h * h / 2) << p.x << "," << p.y;
}

TEST(VizContour, LinesJoinIntoOneClosedLoop) {
  const auto lines = contour_lines(circle_field(), 1.0);
  ASSERT_EQ(lines.size(), 1u);
  const auto& loop = lines[0];
  EXPECT_EQ(loop.front(), loop.back());
  EXPECT_EQ(loop.size(), marching_squares(circle_field(), 1.0).size() + 1);
  EXPECT_NEAR(std::abs(polygon_area(loop)), std::numbers::pi, 0.02);
}

TEST(VizContour, OpenCurvesEndOnTheGridBorder) {
  const Grid g = Grid::sample(0, 1, 11, 0, 1, 11, [](double x, double y) { return x + y; });
  const auto lines = contour_lines(g, 0.75);
  ASSERT_EQ(lines.size(), 1u);
  for (const Point p : lines[0]) EXPECT_NEAR(p.x + p.y, 0.75, 1e-12);
  EXPECT_NEAR(lines[0].front().x * lines[0].front().y, 0, 1e-12);  // on an edge of the grid
  EXPECT_NEAR(lines[0].back().x * lines[0].back().y, 0, 1e-12);
}

TEST(VizContour, SuperlevelRegionHasTheRightAreaAndOrientation) {
  const auto polys = superlevel_polygons(circle_field(), 1.0);  // outside the circle
  double area = 0;
  for (const auto& p : polys) {
    const double a = polygon_area(p);
    EXPECT_GT(a, 0) << "polygons must be counter-clockwise";
    area += a;
  }
  EXPECT_NEAR(area, 16 - std::numbers::pi, 0.02);
}

TEST(VizContour, RejectsBadGrids) {
  Grid g{0, 1, 0, 1, 3, 3, std::vector<double>(8)};
  EXPECT_THROW(g.validate(), std::invalid_argument);
  EXPECT_THROW(Grid::sample(0, 1, 1, 0, 1, 5, [](double, double) { return 0.0; }),
               std::invalid_argument);
  EXPECT_THROW(Grid::sample(1, 0, 4, 0, 1, 5, [](double, double) { return 0.0; }),
               std::invalid_argument);
}

TEST(VizColor, PaletteAndMaps) {
  EXPECT_EQ(class_color(0).css(), "#0072b2");
  EXPECT_EQ(class_color(1).css(), "#e69f00");
  EXPECT_EQ(class_color(9), class_color(1));
  const Colormap m = Colormap::blue_orange();
  EXPECT_EQ(m(0), m.stops().front());
  EXPECT_EQ(m(1), m.stops().back());
  EXPECT_EQ(m(-5), m.stops().front());
  EXPECT_EQ(m(0.5), m.stops()[3]);
  // The neutral middle is lighter than either end, so p = 0.5 reads as "undecided".
  auto light = [](Color c) { return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b; };
  EXPECT_GT(light(m(0.5)), light(m(0.1)) + 40);
  EXPECT_GT(light(m(0.5)), light(m(0.9)) + 40);
  EXPECT_EQ(mix(Color::hex(0x000000), Color::hex(0xffffff), 0.5).css(), "#808080");
}

TEST(VizFigure, StandaloneDocumentIsWellFormed) {
  const std::string svg = sample_figure().svg();
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(
      svg.rfind(
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"",
          0),
      0u);
  EXPECT_NE(svg.find("viewBox=\"0 0 "), std::string::npos);
  EXPECT_NE(svg.find("<title>Every &lt;primitive&gt; &amp; more</title>"), std::string::npos);
  EXPECT_NE(svg.find("note &quot;quoted&quot;"), std::string::npos);
  EXPECT_EQ(count(svg, "class=\"panel\""), 4u);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

TEST(VizFigure, InlineVariantHasNoProlog) {
  const std::string svg = sample_figure().svg_inline();
  EXPECT_EQ(svg.rfind("<svg xmlns=", 0), 0u);
  EXPECT_EQ(xml_problem(svg), "");
  // No ids, so several figures can share one HTML page.
  EXPECT_EQ(svg.find(" id="), std::string::npos);
  const std::string tagged =
      sample_figure().svg_inline(Attrs().str("class", "frame").num("data-epoch", 7));
  EXPECT_NE(tagged.find("class=\"frame\" data-epoch=\"7\">"), std::string::npos);
  EXPECT_EQ(xml_problem(tagged), "");
  const std::string page = html_page("a & b", svg + tagged);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<title>a &amp; b</title>"), std::string::npos);
}

TEST(VizFigure, SameInputSameBytes) {
  const std::string a = sample_figure().svg(), b = sample_figure().svg();
  EXPECT_EQ(a, b);
  const Figure f = sample_figure();
  EXPECT_EQ(f.svg(), f.svg());
}

TEST(VizFigure, EverythingStaysInsideThePanel) {
  // Lines far longer than the limits must be cut at the frame, not drawn across the page.
  Figure fig(1, 1, 200, 100);
  const std::vector<double> xs{-100, 100}, ys{-100, 100};
  fig.panel(0).xlim(0, 1).ylim(0, 1).line(xs, ys).infinite_line(1, 1, -1).arrow(0.5, 0.5, 50, 9);
  const std::string svg = fig.svg();
  EXPECT_EQ(xml_problem(svg), "");
  const auto w0 = svg.find("width=\"") + 7, h0 = svg.find("height=\"") + 8;
  const double width = std::stod(svg.substr(w0)), height = std::stod(svg.substr(h0));
  // Every coordinate in path data and line end points lies on the page.
  std::size_t checked = 0;
  for (const std::string key : {" d=\"", " x1=\"", " x2=\"", " y1=\"", " y2=\""}) {
    for (auto p = svg.find(key); p != std::string::npos; p = svg.find(key, p + 1)) {
      const auto start = p + key.size(), end = svg.find('"', start);
      std::string v = svg.substr(start, end - start);
      for (char& c : v)
        if (c == 'M' || c == 'L' || c == 'Z') c = ' ';
      std::istringstream in(v);
      const bool is_x = key[1] == 'x';
      for (double num, k = 0; in >> num; ++k, ++checked) {
        const bool x = key == " d=\"" ? static_cast<int>(k) % 2 == 0 : is_x;
        EXPECT_GE(num, 0) << key << v;
        EXPECT_LE(num, x ? width : height) << key << v;
      }
    }
  }
  EXPECT_GT(checked, 20u);
}

TEST(VizFigure, BadArgumentsThrow) {
  Figure fig(2, 3);
  EXPECT_NO_THROW(fig.panel(1, 2));
  EXPECT_THROW(fig.panel(2, 0), std::out_of_range);
  EXPECT_THROW(fig.panel(6), std::out_of_range);
  EXPECT_THROW(Figure(0, 1), std::invalid_argument);
  const std::vector<double> a{1, 2, 3}, b{1, 2};
  EXPECT_THROW(fig.panel(0).scatter(a, b), std::invalid_argument);
  EXPECT_THROW(fig.panel(0).line(a, b), std::invalid_argument);
  const std::vector<int> cls{0, 1};
  EXPECT_THROW(fig.panel(0).scatter(a, a, cls), std::invalid_argument);
  EXPECT_THROW(fig.panel(0).xlim(1, 1), std::invalid_argument);
  const Grid g = circle_field();
  EXPECT_THROW(fig.panel(0).contourf(g, {1}), std::invalid_argument);
  EXPECT_THROW(fig.panel(0).contourf(g, {1, 0}), std::invalid_argument);
}

TEST(VizTicks, LogAxesTickPowersOfTenThenOneTwoFive) {
  EXPECT_EQ(log_ticks(1e-4, 2, 10).values, (std::vector<double>{1e-4, 1e-3, 1e-2, 1e-1, 1}));
  EXPECT_EQ(log_ticks(1e-4, 2, 10).step, 0);
  // Too many decades for max_ticks: every other one.
  EXPECT_LE(log_ticks(1e-9, 1e9, 6).values.size(), 6u);
  EXPECT_GE(log_ticks(1e-9, 1e9, 6).values.size(), 2u);
  // Less than a decade: 1-2-5 multiples.
  EXPECT_EQ(log_ticks(1.5, 9, 8).values, (std::vector<double>{2, 5}));
  EXPECT_EQ(log_tick_label(0.001), "0.001");
  EXPECT_EQ(log_tick_label(100), "100");
  EXPECT_EQ(log_tick_label(1e-5), "1e-5");
  EXPECT_EQ(log_tick_label(2e-7), "2x1e-7");
}

TEST(VizScale, LogScaleIsLinearInTheExponent) {
  const Scale s{0.01, 100, 0, 400, true};
  EXPECT_DOUBLE_EQ(s(0.01), 0);
  EXPECT_DOUBLE_EQ(s(1), 200);
  EXPECT_DOUBLE_EQ(s(100), 400);
  EXPECT_NEAR(s.inverse(300), 10, 1e-12);
}

TEST(VizFigure, LogAxisSkipsNonPositiveValuesAndTicksDecades) {
  Figure fig(1, 1, 300, 200);
  const std::vector<double> x{0, 1, 2, 3}, y{1, 0.1, 0.001, 0};  // the 0 cannot be drawn
  fig.panel(0).ylog().line(x, y);
  const std::string svg = fig.svg();
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_NE(svg.find(">0.001</text>"), std::string::npos);
  EXPECT_NE(svg.find(">1</text>"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

TEST(VizFigure, ColorBarShowsTheMapAndItsRange) {
  Figure fig(1, 1, 200, 200);
  fig.panel(0).heatmap(circle_field());
  const double width_before = std::stod(fig.svg().substr(fig.svg().find("width=\"") + 7));
  fig.colorbar({.cmap = Colormap::blues(), .vmin = 0, .vmax = 2, .label = "density"});
  const std::string svg = fig.svg();
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_GT(std::stod(svg.substr(svg.find("width=\"") + 7)), width_before);
  EXPECT_NE(svg.find("class=\"colorbar\""), std::string::npos);
  EXPECT_NE(svg.find(">density</text>"), std::string::npos);
  EXPECT_NE(svg.find(Colormap::blues()(0.5 / 64).css()), std::string::npos);  // bottom step
  EXPECT_NE(svg.find(">2.0</text>"), std::string::npos);
  EXPECT_THROW(fig.colorbar({.vmin = 1, .vmax = 1}), std::invalid_argument);
  EXPECT_THROW(fig.colorbar({.vmin = 0, .vmax = std::nan("")}), std::invalid_argument);
}

TEST(VizFigure, UnoutlinedClassesDrawNoStroke) {
  Figure fig;
  const std::vector<double> x{0, 1}, y{0, 1};
  const std::vector<int> c{0, 1};
  ClassStyle style;
  style.outline = false;
  fig.panel(0).scatter(x, y, c, style);
  EXPECT_NE(fig.svg().find("<g fill-opacity=\"0.85\">\n"), std::string::npos);
  style.outline = true;
  fig.panel(0).scatter(x, y, c, style);
  EXPECT_NE(fig.svg().find("<g fill-opacity=\"0.85\" stroke=\"#ffffff\""), std::string::npos);
}

TEST(VizBoundary, DrawsAnyFunctionOfThePlaneWithAColorBar) {
  BoundaryOptions o{.x0 = -1, .x1 = 1, .y0 = -1, .y1 = 1, .resolution = 21};
  o.xs = {0.5, -0.5};
  o.ys = {0.5, -0.5};
  o.labels = {1, 0};
  o.title = "a logistic ramp";
  const auto f = [](double x, double y) { return 1 / (1 + std::exp(-4 * (x + y))); };
  const std::string svg = decision_boundary(f, o).svg();
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_NE(svg.find("class=\"colorbar\""), std::string::npos);
  EXPECT_NE(svg.find(">p(class 1)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">boundary (0.5)</text>"), std::string::npos);
  EXPECT_EQ(svg, decision_boundary(f, o).svg());
}

TEST(VizBoundary, BadFunctionsAndOptionsAreNamed) {
  const auto nan_at_origin = [](double x, double y) {
    return x == 0 && y == 0 ? std::nan("") : 0.5;
  };
  BoundaryOptions o{.resolution = 3};
  try {
    decision_boundary(nan_at_origin, o);
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("at (0, 0)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(decision_boundary({}, {}), std::invalid_argument);
  EXPECT_THROW(decision_boundary([](double, double) { return 0.0; }, {.x0 = 1, .x1 = 1}),
               std::invalid_argument);
  EXPECT_THROW(decision_boundary([](double, double) { return 0.0; }, {.resolution = 1}),
               std::invalid_argument);
  BoundaryOptions mismatched;
  mismatched.xs = {1, 2};
  mismatched.ys = {1};
  EXPECT_THROW(decision_boundary([](double, double) { return 0.0; }, mismatched),
               std::invalid_argument);
}

TEST(VizFigure, EmptyFigureStillRenders) {
  const std::string svg = Figure().svg();
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_NE(svg.find("<title>figure</title>"), std::string::npos);
}

TEST(VizFile, AtomicWriteLeavesOnlyTheFile) {
  const fs::path dir = fresh_dir("ok");
  const fs::path out = dir / "figure.svg";
  write_file_atomic(out, "first");
  write_file_atomic(out, sample_figure().svg());
  std::ifstream in(out, std::ios::binary);
  const std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, sample_figure().svg());
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(dir)) entries.push_back(e.path());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].filename(), "figure.svg");
  fs::remove_all(dir);
}

TEST(VizFile, UnwritableDirectoryThrowsAndLeavesNothing) {
  const fs::path dir = fresh_dir("bad");
  // A directory that does not exist.
  const fs::path missing = dir / "no" / "such" / "dir" / "f.svg";
  try {
    write_file_atomic(missing, "x");
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(missing.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  }
  // A "directory" that is a regular file.
  const fs::path file = dir / "plain";
  write_file_atomic(file, "x");
  EXPECT_THROW(write_file_atomic(file / "f.svg", "x"), std::runtime_error);
  // The target is a directory: the rename fails, and the temporary must be removed.
  fs::create_directories(dir / "taken");
  EXPECT_THROW(write_file_atomic(dir / "taken", "x"), std::runtime_error);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"plain", "taken"}));
  // Permissions mean nothing to root, so the read-only case runs only for other users.
  if (::geteuid() != 0) {
    const fs::path ro = dir / "ro";
    fs::create_directories(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_THROW(write_file_atomic(ro / "f.svg", "x"), std::runtime_error);
    fs::permissions(ro, fs::perms::owner_all);
    EXPECT_TRUE(fs::is_empty(ro));
  }
  fs::remove_all(dir);
}
