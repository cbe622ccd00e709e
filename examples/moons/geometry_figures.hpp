// The geometry figures (layers.svg, svd.svg, hidden.svg), drawn with affine::viz from the numbers
// geometry.hpp computes from the recorded weights.
#pragma once

#include <vector>

#include <affine/viz/figure.hpp>

#include "figures.hpp"
#include "geometry.hpp"
#include "options.hpp"
#include "record.hpp"

namespace moons {

/// The epochs layers.svg shows: the first, last, and up to two figure epochs between.
std::vector<int> layer_epochs(const History& h);

/// layers.svg: at layer_epochs(h), the input grid and the data carried through each stage.
affine::viz::Figure layers_figure(const History& h, const std::vector<EpochGeometry>& g);
/// svd.svg: the unit circle through V^T, diag(s), U and + b for fig. 3's map; then each Linear's
/// singular values and the angles of its 2-D factors over the epochs.
affine::viz::Figure svd_figure(const std::vector<EpochGeometry>& g, const PlaneMap& map);
/// hidden.svg: the 100 lines w_i . x + b_i = 0 at four epochs, coloured by the weight the next
/// layers give unit i; the PCA of the hidden activations beside the learned embedding; and the
/// principal angles and variance ratios over the epochs.
affine::viz::Figure hidden_figure(const History& h, const std::vector<EpochGeometry>& g);

}  // namespace moons
