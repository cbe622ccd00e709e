// The static figures, built from recorded snapshots with affine::viz (which knows nothing of
// training): each function returns a viz::Figure, saved as an SVG file and inlined in the page.
#pragma once

#include <vector>

#include <affine/viz/figure.hpp>

#include "options.hpp"
#include "record.hpp"

namespace moons {

/// The random 2x2 map of fig. 3 (transform.svg), from its own generator seeded by the run's seed.
struct PlaneMap {
  double w[2][2] = {{1, 0}, {0, 1}};
  double b[2] = {0, 0};
};
PlaneMap fig3_map(const Options& o);

/// Polylines of a regular grid over the figure's input box: lines of constant x1, then of
/// constant x2, each sampled densely enough to bend smoothly under the network's maps.
struct PlaneGrid {
  std::vector<std::vector<double>> xs, ys;  ///< one polyline per grid line
};
PlaneGrid plane_grid(const GridSpec& box, double spacing, int samples_per_line);

/// data.svg: the two moons (the post's fig. 2).
affine::viz::Figure data_figure(const History& h, const Options& o);
/// transform.svg: the data and a grid of the plane, a random linear map W x and the affine map
/// W x + b of both on the same axes, with the origin and the images of e1, e2 (fig. 3).
affine::viz::Figure transform_figure(const History& h, const Options& o);
/// embedding.svg: the 2-D tanh embedding at the figure epochs, with the output layer's line
/// w . z + b = 0 in each panel (fig. 6a).
affine::viz::Figure embedding_figure(const History& h);
/// boundary.svg: p(class 1) shading and the p = 0.5 curve in the input plane at the same epochs
/// (fig. 6b).
affine::viz::Figure boundary_figure(const History& h);
/// curves.svg: loss and accuracy per epoch, training and test.
affine::viz::Figure curves_figure(const History& h);

}  // namespace moons
