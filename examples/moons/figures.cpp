// The static figures, from recorded snapshots. Only viz and the History arrays are used here:
// no tensors, no training.
#include "figures.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <affine/affine.hpp>

namespace moons {
namespace {

namespace viz = affine::viz;

const std::vector<std::string> kClassNames = {"class 0 (upper moon)", "class 1 (lower moon)"};

std::string fixed(double v, int decimals) { return viz::fixed(v, decimals); }

viz::ClassStyle class_style(double size = 3.0, double opacity = 0.8) {
  viz::ClassStyle s;
  s.names = kClassNames;
  s.size = size;
  s.opacity = opacity;
  return s;
}

// Rows and columns for n small multiples: at most 4 per row.
std::pair<int, int> grid_shape(size_t n) {
  const int cols = static_cast<int>(std::min<size_t>(4, n));
  const int rows = static_cast<int>((n + cols - 1) / cols);
  return {rows, cols};
}

viz::Grid to_grid(const GridSpec& g, const std::vector<float>& values) {
  viz::Grid grid;
  grid.x0 = g.x0;
  grid.x1 = g.x1;
  grid.y0 = g.y0;
  grid.y1 = g.y1;
  grid.nx = static_cast<size_t>(g.nx);
  grid.ny = static_cast<size_t>(g.ny);
  grid.values.assign(values.begin(), values.end());
  return grid;
}

const Snapshot& at_epoch(const History& h, int epoch) { return h.snapshots.at(epoch); }

std::string epoch_title(const Snapshot& s) {
  return "epoch " + std::to_string(s.epoch) + "  (test acc " + fixed(s.test_accuracy, 3) + ")";
}

// The light grey lines of a plane grid, mapped point by point through f.
template <class F>
void draw_grid(viz::Panel& p, const PlaneGrid& g, F f) {
  for (size_t l = 0; l < g.xs.size(); ++l) {
    std::vector<double> mx(g.xs[l].size()), my(g.xs[l].size());
    for (size_t i = 0; i < mx.size(); ++i) f(g.xs[l][i], g.ys[l][i], mx[i], my[i]);
    p.line(mx, my, {.color = viz::Color::hex(0xb8b8b8), .width = 0.8});
  }
}

}  // namespace

PlaneMap fig3_map(const Options& o) {
  // A random 2x2 W and b, from their own generator so the figure does not depend on training.
  affine::Generator gen(o.seed ^ 0x7a11'5f0eULL);
  PlaneMap m;
  do {
    for (auto& row : m.w)
      for (double& v : row) v = gen.uniform(-1.5, 1.5);
  } while (std::fabs(m.w[0][0] * m.w[1][1] - m.w[0][1] * m.w[1][0]) < 0.5);  // visibly 2-D
  m.b[0] = gen.uniform(-1.5, 1.5);
  m.b[1] = gen.uniform(-1.5, 1.5);
  return m;
}

PlaneGrid plane_grid(const GridSpec& box, double spacing, int samples_per_line) {
  PlaneGrid g;
  const auto line = [&](double ax, double ay, double bx, double by) {
    std::vector<double> xs, ys;
    for (int k = 0; k < samples_per_line; ++k) {
      const double t = static_cast<double>(k) / (samples_per_line - 1);
      xs.push_back(ax + t * (bx - ax));
      ys.push_back(ay + t * (by - ay));
    }
    g.xs.push_back(std::move(xs));
    g.ys.push_back(std::move(ys));
  };
  for (double x = std::ceil(box.x0 / spacing) * spacing; x <= box.x1 + 1e-9; x += spacing)
    line(x, box.y0, x, box.y1);
  for (double y = std::ceil(box.y0 / spacing) * spacing; y <= box.y1 + 1e-9; y += spacing)
    line(box.x0, y, box.x1, y);
  return g;
}

viz::Figure data_figure(const History& h, const Options& o) {
  viz::Figure fig(1, 1, 520, 340);
  fig.title("Two moons: " + std::to_string(h.labels.size()) + " points, noise " +
            viz::fmt(o.noise, 3));
  auto& p = fig.panel(0);
  p.xlabel("x1").ylabel("x2").equal_aspect().legend(viz::LegendPos::top_right);
  p.scatter(h.xs, h.ys, h.labels, class_style(3.2));
  return fig;
}

viz::Figure transform_figure(const History& h, const Options& o) {
  const PlaneMap m = fig3_map(o);
  const auto& w = m.w;
  const auto& b = m.b;
  // The grid the caption speaks of: lines every 0.5 over the data's box, carried by the same maps.
  const PlaneGrid grid = plane_grid(h.figure_grid, 0.5, 2);

  const size_t n = h.xs.size();
  std::vector<double> lx(n), ly(n), ax(n), ay(n);
  for (size_t i = 0; i < n; ++i) {
    lx[i] = w[0][0] * h.xs[i] + w[0][1] * h.ys[i];
    ly[i] = w[1][0] * h.xs[i] + w[1][1] * h.ys[i];
    ax[i] = lx[i] + b[0];
    ay[i] = ly[i] + b[1];
  }

  viz::Figure fig(1, 3, 300, 300);
  char wtxt[200];
  std::snprintf(wtxt, sizeof wtxt, "W = [%s %s; %s %s],  b = (%s, %s)", fixed(w[0][0], 2).c_str(),
                fixed(w[0][1], 2).c_str(), fixed(w[1][0], 2).c_str(), fixed(w[1][1], 2).c_str(),
                fixed(b[0], 2).c_str(), fixed(b[1], 2).c_str());
  fig.title(std::string("A linear map keeps the origin fixed; adding b makes it affine.   ") +
            wtxt);
  fig.share_axes();

  const auto basis = [](viz::Panel& p, double ox, double oy, double e1x, double e1y, double e2x,
                        double e2y, const std::string& l1, const std::string& l2) {
    p.arrow(ox, oy, ox + e1x, oy + e1y,
            {.color = viz::palette::vermillion, .width = 2.2, .label = l1});
    p.arrow(ox, oy, ox + e2x, oy + e2y,
            {.color = viz::palette::bluish_green, .width = 2.2, .label = l2});
  };
  const auto origin = [](viz::Panel& p) {
    p.scatter(
        std::vector<double>{0.0}, std::vector<double>{0.0},
        viz::ScatterStyle{.color = viz::palette::black, .size = 4, .opacity = 1, .label = ""});
    p.text(0, 0, "origin", {.size = 11, .dx = 6, .dy = 14});
  };

  auto& p0 = fig.panel(0);
  p0.title("the data x").xlabel("x1").ylabel("x2").equal_aspect().zero_lines();
  draw_grid(p0, grid, [](double x, double y, double& u, double& v) { u = x, v = y; });
  p0.scatter(h.xs, h.ys, h.labels, class_style(2.2, 0.55));
  origin(p0);
  basis(p0, 0, 0, 1, 0, 0, 1, "e1", "e2");
  p0.legend(viz::LegendPos::none);

  auto& p1 = fig.panel(1);
  p1.title("linear: W x").xlabel("(W x)1").ylabel("(W x)2").equal_aspect().zero_lines();
  draw_grid(p1, grid, [&](double x, double y, double& u, double& v) {
    u = w[0][0] * x + w[0][1] * y, v = w[1][0] * x + w[1][1] * y;
  });
  p1.scatter(lx, ly, h.labels, class_style(2.2, 0.55));
  origin(p1);
  basis(p1, 0, 0, w[0][0], w[1][0], w[0][1], w[1][1], "W e1", "W e2");
  p1.legend(viz::LegendPos::none);

  auto& p2 = fig.panel(2);
  p2.title("affine: W x + b").xlabel("(W x + b)1").ylabel("(W x + b)2").equal_aspect().zero_lines();
  draw_grid(p2, grid, [&](double x, double y, double& u, double& v) {
    u = w[0][0] * x + w[0][1] * y + b[0], v = w[1][0] * x + w[1][1] * y + b[1];
  });
  p2.scatter(ax, ay, h.labels, class_style(2.2, 0.55));
  origin(p2);
  p2.arrow(0, 0, b[0], b[1], {.color = viz::palette::grey, .width = 1.6, .label = "b"});
  basis(p2, b[0], b[1], w[0][0], w[1][0], w[0][1], w[1][1], "W e1", "W e2");
  p2.legend(viz::LegendPos::none);

  auto entries = p0.legend_entries();
  fig.legend(entries);
  return fig;
}

viz::Figure embedding_figure(const History& h) {
  const auto [rows, cols] = grid_shape(h.figure_epochs.size());
  viz::Figure fig(rows, cols, 210, 210);
  fig.title(
      "The 2-D embedding (output of the second tanh) during training, with the output "
      "layer's line w·z + b = 0 (darker: more points)");
  const size_t n = h.labels.size();
  std::vector<double> zx(n), zy(n);
  for (size_t k = 0; k < h.figure_epochs.size(); ++k) {
    const Snapshot& s = at_epoch(h, h.figure_epochs[k]);
    for (size_t i = 0; i < n; ++i) {
      zx[i] = s.embedding[2 * i];
      zy[i] = s.embedding[2 * i + 1];
    }
    auto& p = fig.panel(static_cast<int>(k));
    const int r = static_cast<int>(k) / cols, c = static_cast<int>(k) % cols;
    p.title(epoch_title(s)).xlim(-1.08, 1.08).ylim(-1.08, 1.08).equal_aspect();
    p.tick_labels(r == rows - 1, c == 0);
    if (r == rows - 1) p.xlabel("z1");
    if (c == 0) p.ylabel("z2");
    // Most of the points pile up in two corners: faint, unoutlined markers let the piles show
    // their density (the darker, the more points) instead of one solid blob.
    viz::ClassStyle dense = class_style(2.0, 0.18);
    dense.outline = false;
    p.scatter(zx, zy, h.labels, dense);
    p.infinite_line(s.w0, s.w1, s.b,
                    {.color = viz::palette::black,
                     .width = 1.8,
                     .dash = "6 3",
                     .label = "w·z + b = 0 (p = 0.5)"});
    p.legend(viz::LegendPos::none);
    if (k == 0) fig.legend(p.legend_entries());
  }
  return fig;
}

viz::Figure boundary_figure(const History& h) {
  const auto [rows, cols] = grid_shape(h.figure_epochs.size());
  const GridSpec& g = h.figure_grid;
  const double aspect = (g.y1 - g.y0) / (g.x1 - g.x0);
  viz::Figure fig(rows, cols, 230, 230 * aspect);
  fig.title("The decision boundary p = 0.5 in the input plane (shading: p(class 1)); test points");
  // Only the held-out points: the picture stays readable and honest about generalisation.
  const std::vector<double> tx(h.xs.begin() + h.n_train, h.xs.end());
  const std::vector<double> ty(h.ys.begin() + h.n_train, h.ys.end());
  const std::vector<int> tl(h.labels.begin() + h.n_train, h.labels.end());
  std::vector<double> levels;
  levels = {0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0};
  for (size_t k = 0; k < h.figure_epochs.size(); ++k) {
    const Snapshot& s = at_epoch(h, h.figure_epochs[k]);
    auto& p = fig.panel(static_cast<int>(k));
    const int r = static_cast<int>(k) / cols, c = static_cast<int>(k) % cols;
    p.title(epoch_title(s)).xlim(g.x0, g.x1).ylim(g.y0, g.y1).equal_aspect();
    p.tick_labels(r == rows - 1, c == 0);
    if (r == rows - 1) p.xlabel("x1");
    if (c == 0) p.ylabel("x2");
    const viz::Grid grid = to_grid(g, s.figure_grid);
    p.contourf(grid, levels, {.cmap = viz::Colormap::blue_orange(), .opacity = 0.55});
    p.scatter(tx, ty, tl, class_style(2.2, 0.85));
    p.contour(grid, 0.5, {.color = viz::palette::black, .width = 1.8, .label = "p = 0.5 boundary"});
    p.legend(viz::LegendPos::none);
    if (k == 0) fig.legend(p.legend_entries());
  }
  fig.colorbar({.cmap = viz::Colormap::blue_orange(), .opacity = 0.55, .label = "p(class 1)"});
  return fig;
}

viz::Figure curves_figure(const History& h) {
  viz::Figure fig(1, 2, 380, 250);
  fig.title("Training curves (binary cross-entropy and accuracy; epoch 0 = before training)");
  std::vector<double> ep, trl, tel, tra, tea;
  for (const auto& s : h.snapshots) {
    ep.push_back(s.epoch);
    trl.push_back(s.train_loss);
    tel.push_back(s.test_loss);
    tra.push_back(s.train_accuracy);
    tea.push_back(s.test_accuracy);
  }
  const viz::LineStyle train{.color = viz::palette::blue, .width = 2, .label = "train"};
  const viz::LineStyle test{
      .color = viz::palette::vermillion, .width = 2, .dash = "6 3", .label = "test"};
  auto& l = fig.panel(0);
  // Log scale: the loss falls over decades, and a linear axis would flatten everything after the
  // first few epochs (or let one spike squash a long run).
  l.title("loss (log scale)").xlabel("epoch").ylabel("BCE loss").ylog();
  l.line(ep, trl, train).line(ep, tel, test).legend(viz::LegendPos::top_right);
  auto& a = fig.panel(1);
  a.title("accuracy").xlabel("epoch").ylabel("accuracy");
  a.ylim(0.4, 1.0);
  a.line(ep, tra, train).line(ep, tea, test).legend(viz::LegendPos::bottom_right);
  return fig;
}

}  // namespace moons
