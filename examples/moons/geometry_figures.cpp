// layers.svg, svd.svg and hidden.svg: the network's geometry drawn from its recorded weights.
#include "geometry_figures.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <numbers>
#include <string>

namespace moons {
namespace {

namespace viz = affine::viz;
using affine::DType;
using affine::Tensor;

const std::vector<std::string> kClassNames = {"class 0 (upper moon)", "class 1 (lower moon)"};
constexpr viz::Color kLineX1 = viz::Color::hex(0x56B4E9);  // grid lines of constant x1
constexpr viz::Color kLineX2 = viz::Color::hex(0xCC79A7);  // grid lines of constant x2
constexpr double kRadToDeg = 180.0 / std::numbers::pi;

std::vector<double> doubles(const Tensor& t) {
  return t.contiguous().to(DType::f64).to_vector<double>();
}

std::string percent(double ratio) { return viz::fixed(100.0 * ratio, 1) + "%"; }

viz::ClassStyle faint_classes(double size, double opacity) {
  viz::ClassStyle s;
  s.names = kClassNames;
  s.size = size;
  s.opacity = opacity;
  s.outline = false;
  return s;
}

// Column c of an [n, k] row-major array.
std::vector<double> column(const std::vector<double>& v, size_t k, size_t c) {
  std::vector<double> out(v.size() / k);
  for (size_t i = 0; i < out.size(); ++i) out[i] = v[i * k + c];
  return out;
}

// The held-out points (as a tensor and as labels): the figures stay light and honest.
struct TestPoints {
  Tensor x;
  std::vector<int> labels;
};
TestPoints test_points(const History& h) {
  TestPoints t;
  std::vector<float> pts;
  for (size_t i = static_cast<size_t>(h.n_train); i < h.xs.size(); ++i) {
    pts.push_back(static_cast<float>(h.xs[i]));
    pts.push_back(static_cast<float>(h.ys[i]));
    t.labels.push_back(h.labels[i]);
  }
  t.x = Tensor::from_vector(pts, {static_cast<int64_t>(t.labels.size()), 2});
  return t;
}

Tensor grid_tensor(const PlaneGrid& g) {
  std::vector<float> pts;
  for (size_t l = 0; l < g.xs.size(); ++l)
    for (size_t i = 0; i < g.xs[l].size(); ++i) {
      pts.push_back(static_cast<float>(g.xs[l][i]));
      pts.push_back(static_cast<float>(g.ys[l][i]));
    }
  return Tensor::from_vector(pts, {static_cast<int64_t>(pts.size() / 2), 2});
}

// Draws the grid's lines from their mapped 2-D coordinates xy [points, 2] (lines back to back).
void draw_mapped_grid(viz::Panel& p, const PlaneGrid& g, const std::vector<double>& xy,
                      size_t n_x1_lines) {
  size_t at = 0;
  for (size_t l = 0; l < g.xs.size(); ++l) {
    const size_t n = g.xs[l].size();
    std::vector<double> u(n), v(n);
    for (size_t i = 0; i < n; ++i, ++at) {
      u[i] = xy[2 * at];
      v[i] = xy[2 * at + 1];
    }
    p.line(u, v, {.color = l < n_x1_lines ? kLineX1 : kLineX2, .width = 0.8, .opacity = 0.75});
  }
}

size_t x1_line_count(const PlaneGrid& g) {
  size_t n = 0;
  while (n < g.xs.size() && g.xs[n].front() == g.xs[n].back()) ++n;
  return n;
}

// Four epochs spread over the figure epochs: first, last and two between.
std::vector<int> four_epochs(const History& h) {
  const auto& fe = h.figure_epochs;
  std::vector<int> out;
  for (int k = 0; k < 4; ++k) {
    const int e = fe[static_cast<size_t>(std::lround(k * (fe.size() - 1) / 3.0))];
    if (out.empty() || out.back() != e) out.push_back(e);
  }
  return out;
}

}  // namespace

std::vector<int> layer_epochs(const History& h) {
  const auto& fe = h.figure_epochs;
  std::vector<int> out{fe.front()};
  for (const int e : fe)
    if (e >= 10 && e != fe.back()) {
      out.push_back(e);
      break;
    }
  if (fe.back() != out.back()) out.push_back(fe.back());
  return out;
}

viz::Figure layers_figure(const History& h, const std::vector<EpochGeometry>& g) {
  const std::vector<int> epochs = layer_epochs(h);
  const TestPoints test = test_points(h);
  const Tensor x_train = train_points(h);
  const PlaneGrid grid = plane_grid(h.figure_grid, 0.5, 17);
  const size_t n_x1 = x1_line_count(grid);
  const Tensor gx = grid_tensor(grid);
  const int64_t n_test = test.x.size(0);
  const Tensor pts = affine::concat({test.x, gx}, 0);

  viz::Figure fig(static_cast<int>(epochs.size()), 5, 175, 175);
  fig.title("A grid of the input plane and the test points through every stage of the network");
  for (size_t r = 0; r < epochs.size(); ++r) {
    const int e = epochs[r];
    const SeedWeights w =
        seed_weights(h.snapshots.at(static_cast<size_t>(e)).weights, "epoch " + std::to_string(e));
    const Stages s = forward_stages(w, pts);
    // The 100-D stages are seen along their own top two principal directions (training set).
    const Pca pre_pca = pca(forward_stages(w, x_train).pre1, 2);
    const Pca& hid_pca = g.at(static_cast<size_t>(e)).hidden_pca;
    const std::vector<std::vector<double>> xy = {doubles(pts), doubles(project(pre_pca, s.pre1)),
                                                 doubles(project(hid_pca, s.hidden)),
                                                 doubles(s.pre2), doubles(s.embedding)};
    const std::string es = "epoch " + std::to_string(e) + " · ";
    const std::vector<std::string> titles = {
        es + "input x", "W0 x + b0: PCs keep " + percent(pre_pca.ratios[0] + pre_pca.ratios[1]),
        "tanh: PCs keep " + percent(hid_pca.ratios[0] + hid_pca.ratios[1]), "W2 h + b2",
        "tanh: embedding z"};
    const std::vector<std::string> xl = {"x1", "PC1", "PC1", "(W2 h + b2)1", "z1"};
    const std::vector<std::string> yl = {"x2", "PC2", "PC2", "(W2 h + b2)2", "z2"};
    for (size_t c = 0; c < 5; ++c) {
      auto& p = fig.panel(static_cast<int>(r), static_cast<int>(c));
      p.title(titles[c]).equal_aspect().legend(viz::LegendPos::none);
      if (r + 1 == epochs.size()) p.xlabel(xl[c]);
      p.ylabel(yl[c]);
      const std::vector<double> grid_xy(xy[c].begin() + 2 * n_test, xy[c].end());
      draw_mapped_grid(p, grid, grid_xy, n_x1);
      const std::vector<double> sx =
          column(std::vector<double>(xy[c].begin(), xy[c].begin() + 2 * n_test), 2, 0);
      const std::vector<double> sy =
          column(std::vector<double>(xy[c].begin(), xy[c].begin() + 2 * n_test), 2, 1);
      p.scatter(sx, sy, test.labels, faint_classes(1.8, 0.7));
      if (c == 0)
        p.xlim(h.figure_grid.x0, h.figure_grid.x1).ylim(h.figure_grid.y0, h.figure_grid.y1);
      if (c == 4) {
        const Snapshot& snap = h.snapshots.at(static_cast<size_t>(e));
        p.xlim(-1.1, 1.1).ylim(-1.1, 1.1);
        p.infinite_line(snap.w0, snap.w1, snap.b,
                        {.color = viz::palette::black,
                         .width = 1.6,
                         .dash = "5 3",
                         .label = "output line w·z + b = 0"});
      }
      if (r == 0 && c == 4) {
        auto entries = fig.panel(0, 0).legend_entries();
        std::vector<viz::LegendEntry> legend;
        legend.push_back({viz::LegendEntry::Kind::line, kLineX1, viz::Marker::circle, 1.5, "",
                          "grid lines of constant x1"});
        legend.push_back({viz::LegendEntry::Kind::line, kLineX2, viz::Marker::circle, 1.5, "",
                          "grid lines of constant x2"});
        for (const auto& en : p.legend_entries()) legend.push_back(en);
        fig.legend(legend);
      }
    }
  }
  return fig;
}

viz::Figure svd_figure(const std::vector<EpochGeometry>& g, const PlaneMap& map) {
  viz::Figure fig(2, 5, 175, 175);
  const Tensor W = Tensor::from_vector(
      std::vector<double>{map.w[0][0], map.w[0][1], map.w[1][0], map.w[1][1]}, {2, 2});
  const LinearSvd d = decompose("fig. 3", W);
  const auto U = doubles(d.U), Vh = doubles(d.Vh), S = d.singular_values;
  fig.title("W = U diag(s) Vᵀ: fig. 3's map as rotate, scale, rotate" +
            std::string(d.u_reflects ? " (U reflects)" : "") +
            ", then translate; below, the network's layers over training");

  // Row 0: the unit circle and the right singular vectors v1, v2 through each factor.
  std::vector<double> cx, cy;
  for (int k = 0; k <= 96; ++k) {
    const double t = 2 * std::numbers::pi * k / 96;
    cx.push_back(std::cos(t));
    cy.push_back(std::sin(t));
  }
  using Map = std::function<std::array<double, 2>(double, double)>;
  const Map vt = [&](double x, double y) {
    return std::array<double, 2>{Vh[0] * x + Vh[1] * y, Vh[2] * x + Vh[3] * y};
  };
  const Map sc = [&](double x, double y) {
    const auto a = vt(x, y);
    return std::array<double, 2>{S[0] * a[0], S[1] * a[1]};
  };
  const Map us = [&](double x, double y) {
    const auto a = sc(x, y);
    return std::array<double, 2>{U[0] * a[0] + U[1] * a[1], U[2] * a[0] + U[3] * a[1]};
  };
  const Map ub = [&](double x, double y) {
    const auto a = us(x, y);
    return std::array<double, 2>{a[0] + map.b[0], a[1] + map.b[1]};
  };
  const std::vector<Map> maps = {[](double x, double y) {
                                   return std::array<double, 2>{x, y};
                                 },
                                 vt, sc, us, ub};
  const std::vector<std::string> titles = {
      "x: unit circle, v1, v2", "Vᵀ x: rotate by " + viz::fixed(-*d.v_angle * kRadToDeg, 0) + "°",
      "diag(s): scale " + viz::fixed(S[0], 2) + ", " + viz::fixed(S[1], 2),
      "U: rotate" + std::string(d.u_reflects ? "+reflect" : "") + " (= W x)", "+ b: translate"};
  // One square box for the whole row, so lengths compare across the steps.
  double reach = 1;
  for (const auto& m : maps)
    for (size_t i = 0; i < cx.size(); ++i) {
      const auto a = m(cx[i], cy[i]);
      reach = std::max({reach, std::abs(a[0]), std::abs(a[1])});
    }
  reach = std::ceil(reach * 1.1 * 2) / 2;
  for (size_t c = 0; c < maps.size(); ++c) {
    auto& p = fig.panel(0, static_cast<int>(c));
    p.title(titles[c]).equal_aspect().zero_lines().legend(viz::LegendPos::none);
    p.xlim(-reach, reach).ylim(-reach, reach);
    std::vector<double> mx(cx.size()), my(cx.size());
    for (size_t i = 0; i < cx.size(); ++i) {
      const auto a = maps[c](cx[i], cy[i]);
      mx[i] = a[0];
      my[i] = a[1];
    }
    p.line(mx, my, {.color = viz::palette::grey, .width = 1.6});
    const double origin[2] = {c == 4 ? map.b[0] : 0.0, c == 4 ? map.b[1] : 0.0};
    const auto a1 = maps[c](Vh[0], Vh[1]);
    const auto a2 = maps[c](Vh[2], Vh[3]);
    p.arrow(origin[0], origin[1], a1[0], a1[1],
            {.color = viz::palette::vermillion, .width = 2, .label = c == 0 ? "v1" : ""});
    p.arrow(origin[0], origin[1], a2[0], a2[1],
            {.color = viz::palette::bluish_green, .width = 2, .label = c == 0 ? "v2" : ""});
  }

  // Row 1: each Linear over the epochs.
  std::vector<double> ep;
  for (const auto& e : g) ep.push_back(e.epoch);
  const auto series = [&](auto get) {
    std::vector<double> v;
    for (const auto& e : g) v.push_back(get(e));
    return v;
  };
  const viz::LineStyle s1{.color = viz::palette::vermillion, .width = 1.8, .label = "s1"};
  const viz::LineStyle s2{.color = viz::palette::bluish_green, .width = 1.8, .label = "s2"};
  const std::vector<std::string> names = {"layer 0 (100×2)", "layer 2 (2×100)", "layer 4 (1×2)"};
  for (size_t l = 0; l < 3; ++l) {
    auto& p = fig.panel(1, static_cast<int>(l));
    p.title(names[l] + ": s").xlabel("epoch").legend(viz::LegendPos::best);
    if (l == 0) p.ylabel("singular value");
    p.line(ep, series([&](const EpochGeometry& e) { return e.linears[l].singular_values[0]; }), s1);
    if (l < 2)
      p.line(ep, series([&](const EpochGeometry& e) { return e.linears[l].singular_values[1]; }),
             s2);
  }
  auto& ang = fig.panel(1, 3);
  ang.title("angle of the 2-D factor").xlabel("epoch").ylabel("degrees").ylim(-95, 95);
  ang.line(ep, series([](const EpochGeometry& e) { return *e.linears[0].v_angle * kRadToDeg; }),
           {.color = viz::palette::blue, .width = 1.6, .label = "layer 0: v1"});
  ang.line(ep, series([](const EpochGeometry& e) { return *e.linears[1].u_angle * kRadToDeg; }),
           {.color = viz::palette::orange, .width = 1.6, .dash = "5 3", .label = "layer 2: u1"});
  ang.line(ep, series([](const EpochGeometry& e) { return *e.linears[2].v_angle * kRadToDeg; }),
           {.color = viz::palette::black, .width = 1.2, .label = "layer 4: v1"});
  auto& cond = fig.panel(1, 4);
  cond.title("s1 / s2 (log scale)").xlabel("epoch").ylog().legend(viz::LegendPos::best);
  for (size_t l = 0; l < 2; ++l)
    cond.line(ep, series([&](const EpochGeometry& e) {
                const auto& s = e.linears[l].singular_values;
                return s[1] > 0 ? s[0] / s[1] : std::nan("");
              }),
              {.color = l == 0 ? viz::palette::blue : viz::palette::orange,
               .width = 1.6,
               .dash = l == 0 ? "" : "5 3",
               .label = l == 0 ? "layer 0" : "layer 2"});
  return fig;
}

viz::Figure hidden_figure(const History& h, const std::vector<EpochGeometry>& g) {
  const std::vector<int> epochs = four_epochs(h);
  viz::Figure fig(
      2, 4, 200,
      200 * (h.figure_grid.y1 - h.figure_grid.y0) / (h.figure_grid.x1 - h.figure_grid.x0));
  fig.title(
      "The 100 hidden units as lines w_i·x + b_i = 0 in the input plane; the 100-D layer "
      "by PCA and by the network");
  const TestPoints test = test_points(h);
  const auto tx = column(doubles(test.x), 2, 0), ty = column(doubles(test.x), 2, 1);
  const viz::Colormap cmap = viz::Colormap::blue_orange();
  for (size_t k = 0; k < epochs.size(); ++k) {
    const int e = epochs[k];
    const SeedWeights w =
        seed_weights(h.snapshots.at(static_cast<size_t>(e)).weights, "epoch " + std::to_string(e));
    const auto w0 = doubles(w.w0), b0 = doubles(w.b0), w2 = doubles(w.w2), w4 = doubles(w.w4);
    // Unit i's push toward class 1: the output weights seen through layer 2, w4 · W2[:, i].
    std::vector<double> push(kHidden), reach(kHidden);
    double push_max = 0, reach_max = 0;
    for (int64_t i = 0; i < kHidden; ++i) {
      const double a = w2[static_cast<size_t>(i)], b = w2[static_cast<size_t>(kHidden + i)];
      push[static_cast<size_t>(i)] = w4[0] * a + w4[1] * b;
      reach[static_cast<size_t>(i)] = std::hypot(a, b);
      push_max = std::max(push_max, std::abs(push[static_cast<size_t>(i)]));
      reach_max = std::max(reach_max, reach[static_cast<size_t>(i)]);
    }
    auto& p = fig.panel(0, static_cast<int>(k));
    p.title("epoch " + std::to_string(e) + " · 100 unit lines")
        .xlim(h.figure_grid.x0, h.figure_grid.x1)
        .ylim(h.figure_grid.y0, h.figure_grid.y1)
        .equal_aspect()
        .xlabel("x1")
        .legend(viz::LegendPos::none);
    if (k == 0) p.ylabel("x2");
    p.scatter(tx, ty, test.labels, faint_classes(1.6, 0.35));
    for (int64_t i = 0; i < kHidden; ++i) {
      const auto u = static_cast<size_t>(i);
      const double t = push_max > 0 ? 0.5 + 0.5 * push[u] / push_max : 0.5;
      p.infinite_line(w0[2 * u], w0[2 * u + 1], b0[u],
                      {.color = cmap(t),
                       .width = 1.1,
                       .opacity = reach_max > 0 ? 0.25 + 0.75 * reach[u] / reach_max : 1});
    }
  }
  fig.colorbar({.cmap = cmap,
                .vmin = -1,
                .vmax = 1,
                .label = "unit's push to class 1, w4·W2[:,i] (scaled)"});

  // Row 1: the last epoch's hidden layer through PCA and through the network; then over epochs.
  const EpochGeometry& last = g.back();
  const Snapshot& snap = h.snapshots.back();
  const SeedWeights w = seed_weights(snap.weights, "epoch " + std::to_string(snap.epoch));
  const Stages s = forward_stages(w, test.x);
  const auto pc = doubles(project(last.hidden_pca, s.hidden));
  auto& a = fig.panel(1, 0);
  a.title("PCA of h: keeps " + percent(last.hidden_pca.ratios[0] + last.hidden_pca.ratios[1]))
      .xlabel("PC1")
      .ylabel("PC2")
      .equal_aspect()
      .legend(viz::LegendPos::none);
  a.scatter(column(pc, 2, 0), column(pc, 2, 1), test.labels, faint_classes(1.8, 0.5));
  const auto pre2 = doubles(s.pre2);
  auto& b = fig.panel(1, 1);
  b.title("the network's W2 h + b2").xlabel("(W2 h + b2)1").ylabel("(W2 h + b2)2").equal_aspect();
  b.legend(viz::LegendPos::none);
  b.scatter(column(pre2, 2, 0), column(pre2, 2, 1), test.labels, faint_classes(1.8, 0.5));

  std::vector<double> ep, a0, a1;
  for (const auto& e : g) {
    ep.push_back(e.epoch);
    a0.push_back(e.principal_angles[0] * kRadToDeg);
    a1.push_back(e.principal_angles[1] * kRadToDeg);
  }
  auto& c = fig.panel(1, 2);
  c.title("W2's row space vs PCs 1-2").xlabel("epoch").ylabel("principal angle (°)").ylim(0, 92);
  c.line(ep, a0, {.color = viz::palette::blue, .width = 1.8, .label = "first angle"});
  c.line(ep, a1,
         {.color = viz::palette::vermillion, .width = 1.8, .dash = "5 3", .label = "second angle"});
  auto& v = fig.panel(1, 3);
  v.title("variance kept by each PC").xlabel("epoch").ylabel("ratio").ylim(0, 1);
  const std::vector<viz::Color> colors = {viz::palette::blue, viz::palette::orange,
                                          viz::palette::bluish_green, viz::palette::vermillion,
                                          viz::palette::reddish_purple};
  for (size_t k = 0; k < 5; ++k) {
    std::vector<double> r;
    for (const auto& e : g) r.push_back(e.hidden_pca.ratios[k]);
    v.line(ep, r, {.color = colors[k], .width = 1.5, .label = "PC" + std::to_string(k + 1)});
  }
  v.legend(viz::LegendPos::top_right);
  return fig;
}

}  // namespace moons
